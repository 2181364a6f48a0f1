import type { Logger } from "pino";
import { type Clock, systemClock, type Timer } from "../clock.ts";
import { Informer, type InformerOptions, type SharedInformer } from "./informer.ts";
import { allNamespaces, type ListWatchSource } from "./list-watch-source.ts";
import { NamespaceInformer } from "./namespace-informer.ts";
import type { ProtoReader } from "./protobuf.ts";
import { type KubeObject, type ResourceType, resourceName } from "./types.ts";

/** Makes the list-watch source of one resource in one namespace, or in all of them (allNamespaces). */
export type SourceFactory = <T extends KubeObject>(type: ResourceType, namespace: string, hints?: SourceHints) => ListWatchSource<T>;

/** What a source may use to deliver objects more cheaply; a source that cannot use a hint ignores it. */
export interface SourceHints {
  /**
   * Decodes one object of this resource from the apiserver's protobuf encoding, reading only what
   * the informer's transform keeps: whatever the source hands over, the transform makes the same
   * of it as of the object in JSON (kube-api-source asks for LIST pages in protobuf with it).
   */
  protobufDecoder?: ProtobufDecoder;
}

/** See SourceHints.protobufDecoder. */
export type ProtobufDecoder = (object: ProtoReader) => KubeObject;

/**
 * --watch-scope. "cluster": one list and watch per resource for the whole cluster, each project's
 * views reading their namespace's share: a handful of apiserver connections whatever the number of
 * projects, but kubesub needs cluster-wide list and watch. "namespace": one list and watch per
 * resource and project: least privilege (per-namespace Roles suffice), one watch per project.
 */
export type WatchScope = "cluster" | "namespace";

export interface InformerRegistryOptions {
  sources: SourceFactory;
  /** How long an informer outlives its last reference, so a reconnecting client finds it warm. Default 30 s. */
  lingerMs?: number;
  informer?: InformerOptions;
  logger?: Logger;
  /** Times the linger and, unless informer.clock says otherwise, the informers. Default systemClock. */
  clock?: Clock;
  /**
   * What each resource's objects are reduced to on arrival, before they are cached (client-go's
   * TransformFunc): what the layers above read, and nothing else. Default: managedFields dropped.
   */
  transformFor?: (type: ResourceType) => (<O extends KubeObject>(object: O) => O) | undefined;
  /** For the sources (SourceHints.protobufDecoder): decoders that go with transformFor's transforms. Default: none. */
  protobufDecoderFor?: (type: ResourceType) => ProtobufDecoder | undefined;
  /** Default "namespace". */
  scope?: WatchScope;
}

/** A counted reference to a shared informer. release() is idempotent. */
export interface InformerLease<T extends KubeObject> {
  readonly informer: SharedInformer<T>;
  release(): void;
}

interface Entry {
  type: ResourceType;
  informer: Informer<KubeObject>;
  references: number;
  lingerTimer: Timer | undefined;
}

/**
 * Shares one informer per (resource, namespace), or per resource with scope "cluster", among all
 * its users. The first acquire() starts it; it stops lingerMs after the last lease is released,
 * unless acquired again meanwhile. N subscribers to the same resource and namespace therefore mean
 * one LIST and one WATCH; with scope "cluster", N subscribers in any number of projects too.
 */
export class InformerRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly options: InformerRegistryOptions;
  private readonly lingerMs: number;
  private readonly clock: Clock;
  private closed = false;

  constructor(options: InformerRegistryOptions) {
    this.options = options;
    this.lingerMs = options.lingerMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
  }

  get scope(): WatchScope {
    return this.options.scope ?? "namespace";
  }

  acquire<T extends KubeObject>(type: ResourceType, namespace: string): InformerLease<T> {
    if (this.closed) throw new Error("informer registry is shut down");
    // A cluster-scoped resource (namespaces) is one list and watch whatever the scope, read whole.
    const cluster = this.scope === "cluster" || type.clusterScoped === true;
    const watched = cluster ? allNamespaces : namespace;
    const key = `${resourceName(type)}/${cluster ? "*" : namespace}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const source = this.options.sources<KubeObject>(type, watched, { protobufDecoder: this.options.protobufDecoderFor?.(type) });
      const transform = this.options.transformFor?.(type);
      const informer = new Informer(source, {
        logger: this.options.logger,
        clock: this.clock,
        ...this.options.informer,
        ...(transform ? { transform } : {}),
      });
      entry = { type, informer, references: 0, lingerTimer: undefined };
      this.entries.set(key, entry);
      informer.start();
    }
    entry.lingerTimer?.cancel();
    entry.lingerTimer = undefined;
    entry.references += 1;

    const held = entry;
    let released = false;
    const informer = held.informer as unknown as Informer<T>;
    return {
      informer: cluster && !type.clusterScoped ? new NamespaceInformer(informer, namespace) : informer,
      release: () => {
        if (released) return;
        released = true;
        held.references -= 1;
        if (held.references === 0 && !this.closed) {
          held.lingerTimer = this.clock
            .timeout(() => {
              if (held.references > 0 || this.entries.get(key) !== held) return;
              this.entries.delete(key);
              void held.informer.stop();
            }, this.lingerMs)
            .unref();
        }
      },
    };
  }

  /** Informers currently running, with their reference counts (for /readyz, metrics and tests). */
  snapshot(): { key: string; type: ResourceType; references: number; informer: Informer<KubeObject> }[] {
    return [...this.entries].map(([key, entry]) => ({ key, type: entry.type, references: entry.references, informer: entry.informer }));
  }

  /** Stops every informer. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      entries.map((entry) => {
        entry.lingerTimer?.cancel();
        return entry.informer.stop();
      }),
    );
  }
}
