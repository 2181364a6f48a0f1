/** Who a caller is, as its authenticator said (TokenReview, an OIDC token, the proxy's headers). */
export interface Identity {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
  /** When the credential stops being accepted (epoch ms): an OIDC token's exp plus the allowed clock skew. */
  expiresAt?: number;
  /** Projects the credential itself grants, for --authz self: the OIDC token's --self-projects-claim. */
  projects?: string[];
}

/** Why a credential was not accepted, in words the client is told (with 401 UNAUTHENTICATED). */
export interface Rejection {
  rejected: string;
}

export const isRejection = (value: object): value is Rejection => "rejected" in value;

/** The identity of every caller when authentication is off (--auth none). */
export const anonymousIdentity: Identity = { username: "system:anonymous", uid: "", groups: ["system:unauthenticated"], extra: {} };
