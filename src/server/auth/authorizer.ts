import { AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { LRUCache } from "lru-cache";
import { toKubeApiError } from "../../kube/kube-api-source.ts";
import type { ResourceType } from "../../kube/types.ts";
import type { Identity } from "./identity.ts";

export interface ResourceRequest {
  verb: "list" | "watch";
  type: ResourceType;
  namespace: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
  /** Why not, for the caller (a refusal's message ends with it). */
  explanation?: string;
}

/** Decides whether an identity may do something, as the apiserver's RBAC would. */
export interface Authorizer {
  authorize(identity: Identity, request: ResourceRequest): Promise<Decision>;
  /** The one user whose objects this identity may read (--authz self); undefined: anyone's. */
  confineTo?(identity: Identity): string | undefined;
}

export interface SubjectAccessReviewOptions {
  /** How long an allow is cached. Default 30 s. */
  allowTtlMs?: number;
  /** How long a deny is cached. Default 5 s. */
  denyTtlMs?: number;
  /** Told about every cache lookup. */
  onLookup?: (hit: boolean) => void;
}

/**
 * Every decision is the apiserver's (authorization.k8s.io/v1 SubjectAccessReview, on behalf of the
 * caller's user, groups, uid and extra), so kubesub grants exactly what RBAC grants. Decisions are
 * cached briefly per identity and request.
 */
export class SubjectAccessReviewAuthorizer implements Authorizer {
  private readonly api: AuthorizationV1Api;
  private readonly cache: LRUCache<string, Decision>;
  private readonly denyTtlMs: number;
  private readonly onLookup: ((hit: boolean) => void) | undefined;

  constructor(kubeConfig: KubeConfig, options: SubjectAccessReviewOptions = {}) {
    this.api = kubeConfig.makeApiClient(AuthorizationV1Api);
    this.cache = new LRUCache({ max: 50_000, ttl: options.allowTtlMs ?? 30_000 });
    this.denyTtlMs = options.denyTtlMs ?? 5_000;
    this.onLookup = options.onLookup;
  }

  async authorize(identity: Identity, request: ResourceRequest): Promise<Decision> {
    const { verb, type, namespace } = request;
    const key = JSON.stringify([
      identity.username,
      identity.uid,
      identity.groups,
      identity.extra,
      verb,
      type.group,
      type.plural,
      namespace,
    ]);
    const cached = this.cache.get(key);
    this.onLookup?.(cached !== undefined);
    if (cached) return cached;
    const review = await this.api
      .createSubjectAccessReview({
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: identity.username,
            uid: identity.uid || undefined,
            groups: identity.groups,
            extra: identity.extra,
            resourceAttributes: { verb, group: type.group, version: type.version, resource: type.plural, namespace },
          },
        },
      })
      .catch((error: unknown) => {
        throw toKubeApiError(error, "SubjectAccessReview");
      });
    const decision = { allowed: review.status?.allowed === true, reason: review.status?.reason ?? "" };
    this.cache.set(key, decision, decision.allowed ? undefined : { ttl: this.denyTtlMs });
    return decision;
  }
}
