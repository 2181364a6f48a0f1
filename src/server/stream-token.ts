import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Single connection mode's reservation tokens, stateless: what the PUT returns is signed with a
 * key every replica holds (--stream-token-key-file), so that any replica accepts a reservation it
 * can verify, whichever replica answered the PUT.
 *
 *     v1.<nonce>.<expiry>.<subject>.<mac>
 *
 * nonce: 16 random bytes, base64url; expiry: when the reservation lapses if no replica has taken it
 * up, in ms since the epoch (decimal); subject: the first 16 bytes of the SHA-256 of the caller's
 * name, base64url, so that the token is worth nothing to another caller; mac: HMAC-SHA256 with the
 * key over everything before it, base64url.
 */
export type TokenRefusal = { code: "STREAM_TOKEN_INVALID" | "STREAM_TOKEN_EXPIRED"; status: 403 | 410; message: string };

const version = "v1";
const shape = /^v1\.[A-Za-z0-9_-]{22}\.\d{1,15}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

export class StreamTokens {
  private readonly key: Buffer;
  private readonly lifetimeMs: number;
  private readonly now: () => number;

  constructor(key: string | Uint8Array, lifetimeMs: number, now: () => number) {
    this.key = Buffer.from(key);
    this.lifetimeMs = lifetimeMs;
    this.now = now;
  }

  /** A new reservation for the caller named subject. */
  issue(subject: string): string {
    const unsigned = [version, randomBytes(16).toString("base64url"), String(this.now() + this.lifetimeMs), subjectHash(subject)].join(".");
    return `${unsigned}.${this.mac(unsigned)}`;
  }

  /**
   * undefined when the token is this key's, for this subject and, unless anyExpiry, not expired;
   * otherwise why not.
   */
  check(token: string, subject: string, anyExpiry = false): TokenRefusal | undefined {
    if (!shape.test(token)) {
      return { code: "STREAM_TOKEN_INVALID", status: 403, message: "Malformed stream token: reserve a stream with PUT first." };
    }
    const cut = token.lastIndexOf(".");
    const unsigned = token.slice(0, cut);
    const given = Buffer.from(token.slice(cut + 1), "base64url");
    const expected = Buffer.from(this.mac(unsigned), "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return {
        code: "STREAM_TOKEN_INVALID",
        status: 403,
        message: "Stream token not signed by this service's key (forged, or from a replica with another --stream-token-key-file).",
      };
    }
    const [, , expiry, owner] = unsigned.split(".");
    if (owner !== subjectHash(subject)) {
      return { code: "STREAM_TOKEN_INVALID", status: 403, message: "Stream token reserved by another caller." };
    }
    if (!anyExpiry && Number(expiry) <= this.now()) {
      return {
        code: "STREAM_TOKEN_EXPIRED",
        status: 410,
        message: "Stream reservation expired before its stream connected: reserve again.",
      };
    }
    return undefined;
  }

  private mac(unsigned: string): string {
    return createHmac("sha256", this.key).update(unsigned).digest("base64url");
  }
}

function subjectHash(subject: string): string {
  return createHash("sha256").update(subject).digest().subarray(0, 16).toString("base64url");
}

/** A random key, for a process whose reservations no other replica needs to verify. */
export function randomStreamTokenKey(): Buffer {
  return randomBytes(32);
}
