import type { Logger } from "pino";
import { validateUser } from "../../domain/validation.ts";
import { ForbiddenError } from "../../errors.ts";
import type { ResourceType } from "../../kube/types.ts";

/** What a stream or query reads: list and watch of these resources in this namespace. */
export interface AccessCheck {
  resources: ResourceType[];
  namespace: string;
}

/** Why a caller may no longer read what its stream reads. */
export interface Denial {
  code: "FORBIDDEN" | "UNAUTHENTICATED";
  message: string;
}

/**
 * The caller's access, as the server established it (see server/auth). The streams layer asks it
 * before opening anything and, for as long as a stream lives, again every recheck interval.
 */
export interface StreamAccess {
  /** Who is asking, for per-identity limits and logs. Never a credential. */
  readonly subject: string;
  /** Logs about this caller's streams, with its request id. */
  readonly logger?: Logger;
  /** The one user whose objects this caller may read (--authz self); undefined: anyone's. */
  readonly ownUser?: string;
  /** When the caller's credentials expire (epoch ms): its streams end then with UNAUTHENTICATED. */
  readonly expiresAt?: number;
  /** Resolves when every resource may be listed and watched; throws a FORBIDDEN GraphQL error otherwise. */
  authorize(check: AccessCheck): Promise<void>;
  /** undefined while access holds; a Denial once the token stopped being valid or access was revoked. */
  recheck(check: AccessCheck): Promise<Denial | undefined>;
}

/**
 * The user a query's `user` argument selects, validated: for a caller confined to its own objects
 * (ownUser), that user whether the argument is omitted or names it; another user's name is FORBIDDEN.
 */
export function selectedUser(user: string | null | undefined, access: Pick<StreamAccess, "ownUser">): string | undefined {
  const asked = validateUser(user);
  const own = access.ownUser;
  if (own === undefined) return asked;
  if (asked !== undefined && asked !== own) {
    throw new ForbiddenError(`${own} may read only their own objects: omit user, or pass user: ${JSON.stringify(own)}`);
  }
  return own;
}
