// RBAC and credentials for the security scenarios, written as admin: the kubesub-viewer ClusterRole
// from deploy/base/rbac.yaml, RoleBindings to users, groups and service accounts, and service
// account tokens from the TokenRequest API. Everything created is deleted by cleanup(): without a
// controller-manager, deleting a namespace would leave its RoleBindings, ServiceAccounts and
// Secrets behind in etcd.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  ApiException,
  CoreV1Api,
  type KubeConfig,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type RbacV1Subject,
  type V1ClusterRole,
} from "@kubernetes/client-node";

const rbacYaml = fileURLToPath(new URL("../../deploy/base/rbac.yaml", import.meta.url));

/** The kubesub-viewer ClusterRole exactly as deploy/base/rbac.yaml ships it, under another name. */
export function viewerClusterRole(name: string): V1ClusterRole {
  const documents = loadAllYaml(readFileSync(rbacYaml, "utf8")) as V1ClusterRole[];
  const viewer = documents.find((d) => d?.kind === "ClusterRole" && d.metadata?.name === "kubesub-viewer");
  if (!viewer) throw new Error(`no ClusterRole kubesub-viewer in ${rbacYaml}`);
  return { ...viewer, metadata: { ...viewer.metadata, name } };
}

export const user = (name: string): RbacV1Subject => ({ apiGroup: "rbac.authorization.k8s.io", kind: "User", name });
export const group = (name: string): RbacV1Subject => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name });
export const serviceAccount = (namespace: string, name: string): RbacV1Subject => ({ kind: "ServiceAccount", namespace, name });

const ignoreNotFound = (error: unknown) => {
  if (!(error instanceof ApiException && error.code === 404)) throw error;
};

/** Writes RBAC objects and credentials as admin, and remembers how to delete each. */
export class RbacWriter {
  readonly rbac: RbacAuthorizationV1Api;
  readonly core: CoreV1Api;
  private readonly undo: (() => Promise<unknown>)[] = [];

  constructor(adminKubeConfig: KubeConfig) {
    this.rbac = adminKubeConfig.makeApiClient(RbacAuthorizationV1Api);
    this.core = adminKubeConfig.makeApiClient(CoreV1Api);
  }

  async createClusterRole(body: V1ClusterRole): Promise<string> {
    const name = body.metadata?.name ?? "";
    await this.rbac.createClusterRole({ body });
    this.undo.push(() => this.rbac.deleteClusterRole({ name }).catch(ignoreNotFound));
    return name;
  }

  /** A RoleBinding of a ClusterRole in one namespace; returns a function that deletes it. */
  async bind(namespace: string, name: string, clusterRole: string, subjects: RbacV1Subject[]): Promise<() => Promise<void>> {
    await this.rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
        subjects,
      },
    });
    const remove = async () => {
      await this.rbac.deleteNamespacedRoleBinding({ namespace, name }).catch(ignoreNotFound);
    };
    this.undo.push(remove);
    return remove;
  }

  /**
   * A ServiceAccount, a Secret, and a token for the account from the TokenRequest API bound to the
   * Secret: the apiserver stops accepting the token once the Secret is gone.
   */
  async boundServiceAccountToken(
    namespace: string,
    name: string,
  ): Promise<{ token: string; username: string; deleteSecret: () => Promise<void>; deleteServiceAccount: () => Promise<void> }> {
    await this.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    const deleteServiceAccount = async () => {
      await this.core.deleteNamespacedServiceAccount({ namespace, name }).catch(ignoreNotFound);
    };
    this.undo.push(deleteServiceAccount);
    const secret = await this.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: `${name}-session` }, type: "Opaque", stringData: { purpose: "binds a test token" } },
    });
    const deleteSecret = async () => {
      await this.core.deleteNamespacedSecret({ namespace, name: `${name}-session`, gracePeriodSeconds: 0 }).catch(ignoreNotFound);
    };
    this.undo.push(deleteSecret);
    const request = await this.core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Secret", name: secret.metadata?.name, uid: secret.metadata?.uid },
        },
      },
    });
    const token = request.status?.token;
    if (!token) throw new Error("TokenRequest returned no token");
    return { token, username: `system:serviceaccount:${namespace}:${name}`, deleteSecret, deleteServiceAccount };
  }

  /** Deletes everything created, newest first; objects already gone are fine. */
  async cleanup(): Promise<void> {
    for (const undo of this.undo.splice(0).reverse()) await undo();
  }
}
