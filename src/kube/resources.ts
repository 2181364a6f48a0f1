import type { ResourceType } from "./types.ts";

/** The resources kubesub watches. */
export const podResource: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod" };
