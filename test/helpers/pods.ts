import type { KubePod } from "../../src/domain/pod.ts";
import { userLabel } from "./kubesub-server.ts";

/** A minimal Pod object as a client would create it. */
export function podFixture(namespace: string, name: string, user: string | undefined, labels: Record<string, string> = {}): KubePod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { ...(user ? { [userLabel]: user } : {}), ...labels } },
    spec: { containers: [{ name: "main", image: "example.org/main:1" }] } as KubePod["spec"],
    status: { phase: "Pending" },
  };
}
