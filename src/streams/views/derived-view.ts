import type { Logger } from "pino";
import { type Clock, systemClock } from "../../clock.ts";
import { highestResourceVersion } from "../../domain/pod-set.ts";
import { isPermanent } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import type { NamespacePresence } from "../../kube/namespace-presence.ts";
import { compareResourceVersions } from "../../kube/resource-version.ts";
import type { Delta } from "../../kube/store.ts";
import type { KubeObject, ResourceType } from "../../kube/types.ts";
import { type Cursor, encodeCursor } from "./cursor.ts";
import { DeltaHistory, type HistoryEntry, type HistoryLimits } from "./history.ts";
import { describeNamespace, describeUnavailable } from "./unavailable.ts";
import type { ModelDelta, UnavailableSource, View } from "./view.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Which list of an informer its deltas follow: 0 before the first, one more per list. */
function epochOf(informer: SharedInformer<KubeObject>): number {
  const { synced, relists } = informer.status;
  return synced ? relists + 1 : 0;
}

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
  /**
   * What its cursors name (cursor.ts): the view's name, its family (views that one stream may read
   * together, "dask") and namespace, and the family's other views in that namespace, whose
   * positions every cursor of the view carries too. Without it, cursors name no position.
   */
  identity?: { name: string; family: string; namespace: string; siblings: () => Iterable<DerivedView<unknown>> };
  /** How much history it keeps for streams that resume. Default: none. */
  history?: HistoryLimits;
  /** Stamps the history's entries. Default systemClock. */
  clock?: Clock;
  logger?: Logger;
}

/** The change of a source being handled: its deltas are ranked from 1 and recorded when continuous. */
interface Handling {
  source: number;
  emitted: number;
  /** Whether its resourceVersion follows the source's position: false for a relist's differences. */
  record: boolean;
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
  /** Per source, the resourceVersion of the last change handled ("" while it has not been read). */
  private readonly positions: string[];
  /** Per source, which list its position follows: 0 before the first, then one more per relist. */
  private readonly epochs: number[];
  /** Per source, the resource's name in cursors. */
  private readonly resources: string[];
  private readonly history: DeltaHistory<M>;
  private handling: Handling | undefined;

  constructor(options: DerivedViewOptions<M>) {
    this.options = options;
    this.description = options.description;
    this.resources = options.sources.map(({ type }) => type.plural);
    this.epochs = options.sources.map(({ informer }) => epochOf(informer));
    // Where its informers' last change was, not their last bookmark: another replica reads that
    // same change, and so can tell when it has read as far as this view's cursors (behind()).
    this.positions = options.sources.map(({ informer }) => (informer.hasSynced ? (informer.status.changedThrough ?? "") : ""));
    this.history = new DeltaHistory(options.history ?? { size: 0, ageMs: 0 }, options.clock ?? systemClock, this.vouched());
    this.detach = options.sources.map(({ informer }, index) =>
      informer.addHandler((delta) => {
        const resourceVersion =
          (delta.type === "deleted" ? delta.resourceVersion : undefined) ?? delta.object.metadata?.resourceVersion ?? "";
        this.refresh(index);
        const order = compareResourceVersions(resourceVersion, this.positions[index] as string);
        // A change that follows the source's position moves it; a relist's differences (older
        // resourceVersions, or the list's own) do not, and are not kept: the history was reset.
        const record = order !== undefined && order > 0;
        if (record) this.positions[index] = resourceVersion;
        this.handling = { source: index, emitted: 0, record };
        try {
          for (const key of options.affectedKeys(index, delta)) this.recompute(key, resourceVersion);
        } finally {
          this.handling = undefined;
        }
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
    // The namespace first: what a client shows before anything else. Not "absent" while the view's
    // sources hold objects in it: no object lives in a namespace that does not exist, so the
    // namespaces watch has not yet seen one just created (its objects' watches came first).
    const seenObjects = state === "absent" && this.options.sources.some(({ informer }) => informer.list().length > 0);
    if (project && (state === "terminating" || (state === "absent" && !seenObjects))) {
      missing.unshift(describeNamespace(project.namespace, state));
    }
    return missing;
  }

  resourceVersion(): string {
    return highestResourceVersion(this.options.sources.map(({ informer }) => informer.status.resourceVersion ?? ""));
  }

  cursor(): string {
    for (const index of this.positions.keys()) this.refresh(index);
    return this.encode(undefined, true);
  }

  since(cursor: Cursor): HistoryEntry<M>[] | undefined {
    const { identity } = this.options;
    if (!identity || cursor.namespace !== identity.namespace || cursor.family !== identity.family) return undefined;
    const positions = cursor.views?.get(identity.name);
    if (!positions) return undefined;
    for (const index of this.positions.keys()) this.refresh(index);
    this.history.prune();
    const at = cursor.at?.view === identity.name ? cursor.at : undefined;
    /** Per source, the resourceVersion after which its kept deltas are the stream's; null: none are. */
    const from: (string | null)[] = [];
    for (const [index, resource] of this.resources.entries()) {
      const position = positions.get(resource);
      if (position === undefined) return undefined;
      // The history, when it holds every change since the cursor: exactly what the client missed.
      if (this.covers(index, position, at)) {
        from.push(position);
        continue;
      }
      // Else the digest: nothing this source serves changed since, but for objects created and
      // deleted in between, whose net effect is nothing.
      if (!this.unchangedSince(cursor, index, position)) return undefined;
      from.push(null);
    }
    return this.history.kept().filter(({ delta, source, index }) => {
      const after = from[source];
      // Objects created and deleted since a digest matched: their net effect is nothing.
      if (after === null || after === undefined) return false;
      const order = compareResourceVersions(delta.resourceVersion, after);
      if (order === undefined) return false;
      return order > 0 || (order === 0 && at?.resource === this.resources[source] && index > at.index);
    });
  }

  /** Whether the history holds every delta of a source after the cursor's position in it. */
  private covers(index: number, position: string, at: Cursor["at"]): boolean {
    const covered = this.history.covered[index];
    const current = this.positions[index] as string;
    if (covered === undefined || covered === null) return false;
    // A source neither side has read: nothing of it to send.
    if (position === "" || covered === "") return position === covered && current === "";
    const low = compareResourceVersions(position, covered);
    const high = compareResourceVersions(position, this.seen(index));
    // Older than the history, or ahead of this process (a replica that has not seen it yet).
    if (low === undefined || high === undefined || low < 0 || high > 0) return false;
    // Within a change of which deltas after the cursor's are gone already.
    return !(low === 0 && at?.resource === this.resources[index] && at.index < (this.history.coveredIndex[index] as number));
  }

  /**
   * Whether the cursor's digest of a source's objects in the namespace is this process's now, and
   * this process has read as far as the cursor's position in it: the client then holds exactly
   * what this view would serve of that source, whatever happened in between.
   */
  private unchangedSince(cursor: Cursor, index: number, position: string): boolean {
    const digest = cursor.digests?.get(this.resources[index] as string);
    const { informer, namespace } = this.options.sources[index] as ViewSource;
    if (digest === undefined || !informer.hasSynced || digest !== informer.digest(namespace)) return false;
    const order = compareResourceVersions(position, this.seen(index));
    return position === "" || (order !== undefined && order <= 0);
  }

  behind(cursor: Cursor): boolean {
    const positions = cursor.views?.get(this.options.identity?.name ?? "");
    if (!positions || cursor.namespace !== this.options.identity?.namespace) return false;
    return this.resources.some((resource, index) => {
      const position = positions.get(resource);
      if (!position) return false;
      const order = compareResourceVersions(position, this.seen(index));
      return order !== undefined && order > 0;
    });
  }

  /**
   * How far a source has been read: its position, or further, the informer's resourceVersion (a
   * later change elsewhere, a bookmark), up to which every change of the view's objects has been
   * handled, since the informer hands them over synchronously.
   */
  private seen(index: number): string {
    return this.further(index, "resourceVersion");
  }

  /** Whether a source's informer has listed, and not again since this view took its position. */
  private followsSameList(index: number): boolean {
    const { informer } = this.options.sources[index] as ViewSource;
    return informer.hasSynced && epochOf(informer) === this.epochs[index];
  }

  /** Its position in a source, or further: what the informer's status says it has read, when it follows the same list. */
  private further(index: number, read: "resourceVersion" | "changedThrough"): string {
    const position = this.positions[index] as string;
    if (!this.followsSameList(index)) return position;
    const { informer } = this.options.sources[index] as ViewSource;
    const ahead = informer.status[read] ?? "";
    const order = compareResourceVersions(ahead, position);
    return order !== undefined && order > 0 ? ahead : position;
  }

  /**
   * Its positions, by source resource: what the cursors of its family's views carry of it. Between
   * two changes (fresh), each is moved up to the last change its informer has told every handler
   * of (InformerStatus.changedThrough), which this view has handled too: a quiet stream's cursor
   * then stays recent, within reach of a replica started since its last change.
   */
  positionsByResource(fresh = false): Map<string, string> {
    return new Map(
      this.resources.map((resource, index) => [
        resource,
        fresh ? this.further(index, "changedThrough") : (this.positions[index] as string),
      ]),
    );
  }

  /**
   * Per source, how far back this view can vouch for every change: its informer's quietSince()
   * (nothing of this namespace changed since, back to the informer's last list), or its position.
   */
  private vouched(): string[] {
    return this.options.sources.map(({ informer }, index) => {
      const position = this.positions[index] as string;
      const quiet = this.followsSameList(index) ? informer.quietSince() : undefined;
      const order = quiet === undefined ? undefined : compareResourceVersions(quiet, position);
      return quiet !== undefined && order !== undefined && order <= 0 ? quiet : position;
    });
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

  /** A source relisted (or was first read) since its position was taken: the history starts again. */
  private refresh(index: number): void {
    const { informer } = this.options.sources[index] as ViewSource;
    const epoch = epochOf(informer);
    if (epoch === this.epochs[index]) return;
    this.epochs[index] = epoch;
    this.positions[index] = informer.status.changedThrough ?? "";
    this.history.reset(this.vouched());
  }

  /**
   * Its family's positions, its own first, as a cursor; at: the change being handled, if any.
   * fresh: between two changes (see positionsByResource), never while one is being handled.
   */
  private encode(at: Cursor["at"], fresh = false): string {
    const { identity } = this.options;
    if (!identity) return encodeCursor({ namespace: "", family: "", views: undefined });
    const views = new Map([[identity.name, this.positionsByResource(fresh)]]);
    for (const sibling of identity.siblings()) {
      const name = sibling.options.identity?.name;
      if (name !== undefined && !views.has(name)) views.set(name, sibling.positionsByResource(fresh));
    }
    const cursor: Cursor = { namespace: identity.namespace, family: identity.family, views, at };
    if (fresh) cursor.digests = this.digests(identity.siblings());
    return encodeCursor(cursor);
  }

  /** By source resource of it and its siblings, the digest of the namespace's objects now. */
  private digests(siblings: Iterable<DerivedView<unknown>>): Map<string, string> {
    const digests = new Map<string, string>();
    for (const view of [this as DerivedView<unknown>, ...siblings]) {
      for (const [index, { informer, namespace }] of view.options.sources.entries()) {
        const resource = view.resources[index] as string;
        if (!digests.has(resource) && informer.hasSynced) digests.set(resource, informer.digest(namespace));
      }
    }
    return digests;
  }

  private emit(change: DistributiveOmit<ModelDelta<M>, "cursor">): void {
    const { handling } = this;
    // The view being built from its informers' caches: nobody to tell, nothing to keep.
    if (this.handlers.size === 0 && !handling?.record) return;
    let cursor: string;
    if (handling) {
      handling.emitted += 1;
      cursor = this.encode({
        view: this.options.identity?.name ?? "",
        resource: this.resources[handling.source] as string,
        index: handling.emitted,
      });
    } else {
      cursor = this.encode(undefined);
    }
    const delta = { ...change, cursor } as ModelDelta<M>;
    if (handling?.record) this.history.record(delta, handling.source, handling.emitted);
    for (const handler of this.handlers) {
      try {
        handler(delta);
      } catch (error) {
        this.options.logger?.error({ err: error, view: this.description }, "view handler threw; continuing");
      }
    }
  }
}
