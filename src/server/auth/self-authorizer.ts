import type { Authorizer, Decision, ResourceRequest } from "./authorizer.ts";
import type { Identity } from "./identity.ts";

/** --authz self: which projects a caller is granted, and who sees everything. */
export interface SelfPolicySettings {
  /** A group named this prefix and a project grants that project (--self-project-group-prefix); "" for none. */
  projectGroupPrefix: string;
  /** Members of this group see every project and every user's objects (--self-admin-group); "" for none. */
  adminGroup: string;
}

/** The projects an identity is granted: its token's projects claim, and its groups that carry the prefix. */
export function projectsOf(identity: Identity, projectGroupPrefix: string): string[] {
  const fromGroups =
    projectGroupPrefix === ""
      ? []
      : identity.groups
          .filter((g) => g.startsWith(projectGroupPrefix) && g.length > projectGroupPrefix.length)
          .map((g) => g.slice(projectGroupPrefix.length));
  return [...new Set([...(identity.projects ?? []), ...fromGroups])];
}

/**
 * For platforms without per-user RBAC (JupyterHub and the like): a caller reads only the objects
 * labelled with its own user name (confineTo), in the projects its token or groups grant; an
 * admin group reads everything. Decided locally, without asking the apiserver.
 */
export class SelfAuthorizer implements Authorizer {
  private readonly settings: SelfPolicySettings;

  constructor(settings: SelfPolicySettings) {
    this.settings = settings;
  }

  authorize(identity: Identity, { namespace }: ResourceRequest): Promise<Decision> {
    if (this.isAdmin(identity)) return Promise.resolve({ allowed: true, reason: "admin group" });
    if (projectsOf(identity, this.settings.projectGroupPrefix).includes(namespace))
      return Promise.resolve({ allowed: true, reason: "own project" });
    return Promise.resolve({ allowed: false, reason: "", explanation: `no project grant for ${namespace} in the token or groups` });
  }

  confineTo(identity: Identity): string | undefined {
    return this.isAdmin(identity) ? undefined : identity.username;
  }

  private isAdmin(identity: Identity): boolean {
    return this.settings.adminGroup !== "" && identity.groups.includes(this.settings.adminGroup);
  }
}
