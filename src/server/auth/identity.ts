/** Who a caller is, as the apiserver's TokenReview said. */
export interface Identity {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** The identity of every caller when authentication is off (--auth none). */
export const anonymousIdentity: Identity = { username: "system:anonymous", uid: "", groups: ["system:unauthenticated"], extra: {} };
