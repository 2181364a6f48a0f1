import { createHash } from "node:crypto";
import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { LRUCache } from "lru-cache";
import { toKubeApiError } from "../../kube/kube-api-source.ts";
import type { Identity, Rejection } from "./identity.ts";

/**
 * Validates a bearer token. Resolves undefined (or a Rejection that says why) for a token that is
 * not (or no longer) valid; rejects when it cannot tell now (answered with 503 UNAVAILABLE).
 */
export interface Authenticator {
  authenticate(token: string): Promise<Identity | Rejection | undefined>;
}

export interface TokenReviewOptions {
  /** How long a valid token's identity is cached. Default 10 s. */
  validTtlMs?: number;
  /** How long a refusal is cached. Default 3 s. */
  invalidTtlMs?: number;
  /** Audiences to ask for; default: the apiserver's own. */
  audiences?: string[];
  /** Told about every cache lookup. */
  onLookup?: (hit: boolean) => void;
}

type Cached = { identity: Identity | undefined };

/**
 * Bearer tokens validated by the apiserver (authentication.k8s.io/v1 TokenReview), the way
 * kube-rbac-proxy and the aggregated apiservers do. Results are cached briefly, keyed by a SHA-256
 * of the token: the token itself is never stored as a key nor logged.
 */
export class TokenReviewAuthenticator implements Authenticator {
  private readonly api: AuthenticationV1Api;
  private readonly cache: LRUCache<string, Cached>;
  private readonly options: TokenReviewOptions;
  private readonly inflight = new Map<string, Promise<Identity | undefined>>();

  constructor(kubeConfig: KubeConfig, options: TokenReviewOptions = {}) {
    this.api = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.options = options;
    this.cache = new LRUCache({ max: 10_000, ttl: options.validTtlMs ?? 10_000 });
  }

  authenticate(token: string): Promise<Identity | undefined> {
    const key = createHash("sha256").update(token).digest("base64url");
    const cached = this.cache.get(key);
    this.options.onLookup?.(cached !== undefined);
    if (cached) return Promise.resolve(cached.identity);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.review(token).then((identity) => {
        this.cache.set(key, { identity }, identity ? undefined : { ttl: this.options.invalidTtlMs ?? 3_000 });
        return identity;
      });
      pending.finally(() => this.inflight.delete(key)).catch(() => {});
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async review(token: string): Promise<Identity | undefined> {
    const review = await this.api
      .createTokenReview({
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: this.options.audiences } },
      })
      .catch((error: unknown) => {
        throw toKubeApiError(error, "TokenReview");
      });
    const status = review.status;
    if (!status?.authenticated || !status.user?.username) return undefined;
    return {
      username: status.user.username,
      uid: status.user.uid ?? "",
      groups: status.user.groups ?? [],
      extra: status.user.extra ?? {},
    };
  }
}
