import type { Logger } from "pino";
import { highestResourceVersion } from "../../domain/pod-set.ts";
import { isPermanent } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import type { NamespacePresence } from "../../kube/namespace-presence.ts";
import type { Delta } from "../../kube/store.ts";
import type { KubeObject, ResourceType } from "../../kube/types.ts";
import { describeNamespace, describeUnavailable } from "./unavailable.ts";
import type { ModelDelta, UnavailableSource, View } from "./view.ts";

export interface ViewSource {
  informer: SharedInformer<KubeObject>;
  type: ResourceType;
  namespace: string;
}

export interface DerivedViewOptions<M> {
  description: string;
  /** The informers the models are derived from, with the resource and namespace each reads. */
  sources: ViewSource[];
  /** Keys of the models that a delta of sources[index] may change. */
  affectedKeys: (index: number, delta: Delta<KubeObject>) => Iterable<string>;
  /** The model for a key, from the informers' current caches; undefined when there is none. */
  compute: (key: string) => M | undefined;
  /** Served fields that differ between two models of the same key. */
  diff: (old: M, next: M) => string[];
  /**
   * The view's namespace and which namespaces exist: a namespace being deleted or absent is
   * reported as unavailable (resource "namespaces"), and told live when it starts being deleted and
   * when it is gone.
   */
  project?: { namespace: string; presence: NamespacePresence };
  logger?: Logger;
}

/**
 * Models derived from informer caches, recomputed per affected key on every informer delta, and
 * emitted as deltas only when a served field changed. A join (an IDE and its pods, a Dask cluster
 * and its workers) is a view with several sources; a plain projection is a view with one.
 *
 * Invariant: models holds, for every key whose compute(key) is not undefined, the model last
 * emitted for it, which differs from compute(key) in no served field; handlers were told every
 * transition of it. A recomputation that changes no served field (a pod's annotation, a newer
 * resourceVersion) replaces nothing: an update's old, and so every stream's `previous`, is the
 * model subscribers were last sent, and a new subscriber's snapshot is that model too.
 */
export class DerivedView<M> implements View<M> {
  readonly description: string;
  private readonly options: DerivedViewOptions<M>;
  private readonly models = new Map<string, M>();
  private readonly handlers = new Set<(delta: ModelDelta<M>) => void>();
  private readonly unavailableHandlers = new Set<(source: UnavailableSource, cause: unknown) => void>();
  private readonly detach: (() => void)[];

  constructor(options: DerivedViewOptions<M>) {
    this.options = options;
    this.description = options.description;
    this.detach = options.sources.map(({ informer }, index) =>
      informer.addHandler((delta) => {
        const resourceVersion =
          (delta.type === "deleted" ? delta.resourceVersion : undefined) ?? delta.object.metadata?.resourceVersion ?? "";
        for (const key of options.affectedKeys(index, delta)) this.recompute(key, resourceVersion);
      }),
    );
    for (const { informer, type, namespace } of options.sources) {
      this.detach.push(
        informer.addOutageHandler((cause) => {
          const source = describeUnavailable(type, namespace, cause, informer.clusterWide);
          for (const handler of this.unavailableHandlers) handler(source, cause);
        }),
      );
    }
    const { project } = options;
    if (project) {
      this.detach.push(
        project.presence.watch(project.namespace, ({ state, cause }) => {
          const source = describeNamespace(project.namespace, state);
          for (const handler of this.unavailableHandlers) handler(source, cause);
        }),
      );
    }
    for (const [index, { informer }] of options.sources.entries()) {
      for (const object of informer.list()) {
        const resourceVersion = object.metadata?.resourceVersion ?? "";
        for (const key of options.affectedKeys(index, { type: "added", object })) this.recompute(key, resourceVersion);
      }
    }
  }

  list(): M[] {
    return [...this.models.values()];
  }

  addHandler(handler: (delta: ModelDelta<M>) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async settle(signal: AbortSignal): Promise<void> {
    const informers = this.options.sources.map(({ informer }) => informer);
    if (this.options.project) informers.push(this.options.project.presence.source);
    await Promise.all(informers.map((informer) => informer.waitForSync(signal).catch(() => {})));
  }

  addUnavailableHandler(handler: (source: UnavailableSource, cause: unknown) => void): () => void {
    this.unavailableHandlers.add(handler);
    return () => this.unavailableHandlers.delete(handler);
  }

  unavailable(): UnavailableSource[] {
    const missing = this.options.sources
      .filter(({ informer }) => !informer.hasSynced || isPermanent(informer.status.lastError))
      .map(({ informer, type, namespace }) => describeUnavailable(type, namespace, informer.status.lastError, informer.clusterWide));
    const { project } = this.options;
    const state = project?.presence.stateOf(project.namespace);
    // The namespace first: what a client shows before anything else.
    if (project && (state === "terminating" || state === "absent")) missing.unshift(describeNamespace(project.namespace, state));
    return missing;
  }

  resourceVersion(): string {
    return highestResourceVersion(this.options.sources.map(({ informer }) => informer.status.resourceVersion ?? ""));
  }

  /** Stops listening to the informers. The caller releases their leases. */
  close(): void {
    for (const detach of this.detach) detach();
    this.handlers.clear();
    this.unavailableHandlers.clear();
  }

  private recompute(key: string, resourceVersion: string): void {
    const old = this.models.get(key);
    const next = this.options.compute(key);
    if (next === undefined) {
      if (old === undefined) return;
      this.models.delete(key);
      this.emit({ type: "deleted", object: old, resourceVersion });
      return;
    }
    if (old === undefined) {
      this.models.set(key, next);
      this.emit({ type: "added", object: next, resourceVersion });
      return;
    }
    const changedFields = this.options.diff(old, next);
    if (changedFields.length === 0) return;
    this.models.set(key, next);
    this.emit({ type: "updated", old, object: next, changedFields, resourceVersion });
  }

  private emit(delta: ModelDelta<M>): void {
    for (const handler of this.handlers) {
      try {
        handler(delta);
      } catch (error) {
        this.options.logger?.error({ err: error, view: this.description }, "view handler threw; continuing");
      }
    }
  }
}
