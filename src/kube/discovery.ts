import { type Clock, systemClock } from "../clock.ts";
import { KubeApiError } from "./errors.ts";
import type { ResourceType } from "./types.ts";

/** GET of a discovery path: its status and, with 200, its JSON body. */
export type DiscoveryGet = (path: string) => Promise<{ status: number; body?: unknown }>;

export interface ApiDiscoveryOptions {
  /** How long what a group and version serves is believed: how soon a CRD installed or deleted is noticed. Default 10 s. */
  ttlMs?: number;
  clock?: Clock;
}

interface Entry {
  at: number;
  /** The resources the group and version serves; undefined when it serves none (not installed). */
  served: Promise<ReadonlySet<string> | undefined>;
}

/**
 * Which custom resources the apiserver serves, learned once per API group and version (GET
 * /apis/<group>/<version>) and believed for ttlMs, however many namespaces and informers ask. A
 * resource that is not served fails at once with the 404 the apiserver's LIST would give, so an
 * informer reports it NOT_INSTALLED and retries as before, but its retries cost no request to the
 * apiserver until discovery is asked again. The core group is always served.
 */
export class ApiDiscovery {
  private readonly get: DiscoveryGet;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();

  constructor(get: DiscoveryGet, options: ApiDiscoveryOptions = {}) {
    this.get = get;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  /** Resolves when the resource is served; rejects with a 404 KubeApiError when it is not. */
  async ensureServed(type: ResourceType): Promise<void> {
    if (type.group === "") return;
    const groupVersion = `${type.group}/${type.version}`;
    let entry = this.entries.get(groupVersion);
    if (!entry || this.clock.now() - entry.at >= this.ttlMs) {
      entry = { at: this.clock.now(), served: this.discover(groupVersion) };
      this.entries.set(groupVersion, entry);
      const asked = entry;
      // A failed discovery (apiserver unreachable) is not believed: the next call asks again.
      asked.served.catch(() => {
        if (this.entries.get(groupVersion) === asked) this.entries.delete(groupVersion);
      });
    }
    const served = await entry.served;
    if (!served?.has(type.plural)) {
      throw new KubeApiError(`the server could not find the requested resource (${groupVersion} ${type.plural} is not served)`, {
        statusCode: 404,
        reason: "NotFound",
      });
    }
  }

  private async discover(groupVersion: string): Promise<ReadonlySet<string> | undefined> {
    const { status, body } = await this.get(`/apis/${groupVersion}`);
    if (status === 404) return undefined;
    if (status !== 200) throw new KubeApiError(`discovery of ${groupVersion} answered ${status}`, { statusCode: status });
    const resources = (body as { resources?: { name?: string }[] } | undefined)?.resources ?? [];
    return new Set(resources.map((resource) => resource.name ?? "").filter((name) => name !== "" && !name.includes("/")));
  }
}
