import type { KubePod } from "../../src/domain/pod.ts";
import { userLabel } from "./settings.ts";

/** deletionTimestamp of the pods created with deleting: true. */
export const deletedAt = "2024-05-01T11:00:00.000Z";

export interface PodFixtureOptions {
  /** Labelled as this user's (the test user label). */
  user?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Default: none, so that the cluster assigns one. */
  uid?: string;
  resourceVersion?: string;
  /** Being deleted (deletionTimestamp set). */
  deleting?: boolean;
  managedFields?: unknown[];
}

/**
 * The pod fixture: a pod as a client creates it, Pending on no node, with one container. Pods in
 * a later state of their life are podObject's (ide-dask-fixtures.ts), made from this one.
 */
export function podFixture(namespace: string, name: string, options: PodFixtureOptions = {}): KubePod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      ...(options.uid ? { uid: options.uid } : {}),
      labels: { ...(options.user ? { [userLabel]: options.user } : {}), ...options.labels },
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
      ...(options.deleting ? { deletionTimestamp: deletedAt } : {}),
      ...(options.managedFields ? { managedFields: options.managedFields } : {}),
    },
    spec: { containers: [{ name: "main", image: "example.org/main:1" }] } as KubePod["spec"],
    status: { phase: "Pending" },
  };
}
