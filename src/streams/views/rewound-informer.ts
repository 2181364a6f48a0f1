import type { LoggedChange } from "../../kube/change-log.ts";
import type { DeltaHandler, InformerStatus, SharedInformer } from "../../kube/informer.ts";
import { compareResourceVersions } from "../../kube/resource-version.ts";
import type { Delta } from "../../kube/store.ts";
import { type KubeObject, objectKey } from "../../kube/types.ts";

/**
 * One namespace's share of an informer as it stood at an earlier resourceVersion: its objects now
 * with its logged changes since undone. A view built on it starts at that position; replay() then
 * hands it those changes in order, as if it had been open all along, and from then on it is the
 * informer itself (objects, status, handlers), so the view keeps it for good.
 */
export class RewoundInformer<T extends KubeObject> implements SharedInformer<T> {
  readonly description: string;
  readonly clusterWide?: boolean;
  private readonly base: SharedInformer<T>;
  /** The objects at `position`, until replay() ends: then undefined, and the informer's own. */
  private state: Map<string, T> | undefined;
  private position: string;
  private readonly handlers = new Set<DeltaHandler<T>>();

  constructor(base: SharedInformer<T>, at: string, changes: readonly LoggedChange<T>[]) {
    this.base = base;
    this.description = base.description;
    if (base.clusterWide !== undefined) this.clusterWide = base.clusterWide;
    this.position = at;
    const state = new Map(base.list().map((object) => [objectKey(object), object]));
    for (let i = changes.length - 1; i >= 0; i--) {
      const { delta, cached } = changes[i] as LoggedChange<T>;
      if (delta.type === "added") state.delete(objectKey(delta.object));
      else state.set(objectKey(delta.object), delta.type === "updated" ? delta.old : (cached ?? delta.object));
    }
    this.state = state;
  }

  get hasSynced(): boolean {
    return this.base.hasSynced;
  }

  get status(): InformerStatus {
    const status = this.base.status;
    return this.state ? { ...status, changedThrough: this.position } : status;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    return this.base.waitForSync(signal);
  }

  list(): T[] {
    return this.state ? [...this.state.values()] : this.base.list();
  }

  get(key: string): T | undefined {
    return this.state ? this.state.get(key) : this.base.get(key);
  }

  addHandler(handler: DeltaHandler<T>): () => void {
    this.handlers.add(handler);
    const remove = this.base.addHandler(handler);
    return () => {
      this.handlers.delete(handler);
      remove();
    };
  }

  addOutageHandler(handler: (cause: unknown) => void): () => void {
    return this.base.addOutageHandler(handler);
  }

  quietSince(): string | undefined {
    return this.state ? this.position : this.base.quietSince();
  }

  digest(namespace: string): string {
    return this.base.digest(namespace);
  }

  recentChanges(namespace: string): { from: string; changes: LoggedChange<T>[] } | undefined {
    return this.base.recentChanges(namespace);
  }

  /** Applies one logged change to the rewound objects and tells the handlers. */
  apply(change: LoggedChange<T>): void {
    const { state } = this;
    if (!state) return;
    const { delta } = change;
    if (delta.type === "deleted") state.delete(objectKey(delta.object));
    else state.set(objectKey(delta.object), delta.object);
    this.position = change.resourceVersion;
    for (const handler of this.handlers) handler(delta as Delta<T>);
  }

  /** Caught up: from now on, the informer's own objects and status. */
  finish(): void {
    this.state = undefined;
  }
}

/** Sources rewound to one position, and how to bring them up to now. */
export interface Rewind {
  informers: SharedInformer<KubeObject>[];
  /** Hands every source's changes since the position to the handlers, in resourceVersion order; then they are the informers. */
  replay(): void;
}

/**
 * The sources of a view about to start, rewound as far as all of their change logs reach: the
 * latest of their logs' starts, so that every change since is known. undefined when one of them
 * keeps no log, has not listed yet, or positions cannot be compared: the view then starts now.
 */
export function rewind(sources: readonly { informer: SharedInformer<KubeObject>; namespace: string }[]): Rewind | undefined {
  const logs = sources.map(({ informer, namespace }) => (informer.hasSynced ? informer.recentChanges(namespace) : undefined));
  let at: string | undefined;
  for (const log of logs) {
    if (!log) return undefined;
    const order = at === undefined ? 1 : compareResourceVersions(log.from, at);
    if (order === undefined) return undefined;
    if (order > 0) at = log.from;
  }
  if (at === undefined) return undefined;
  const from = at;
  const pending = logs.map((log) =>
    (log?.changes ?? []).filter((change) => (compareResourceVersions(change.resourceVersion, from) ?? 0) > 0),
  );
  const informers = sources.map(({ informer }, i) => new RewoundInformer(informer, from, pending[i] ?? []));
  return {
    informers,
    replay: () => {
      // Merged by resourceVersion (one etcd's revisions order every resource's changes); ties keep source order.
      const merged = pending.flatMap((changes, source) => changes.map((change) => ({ change, source })));
      merged.sort((a, b) => compareResourceVersions(a.change.resourceVersion, b.change.resourceVersion) ?? a.source - b.source);
      for (const { change, source } of merged) (informers[source] as RewoundInformer<KubeObject>).apply(change);
      for (const informer of informers) informer.finish();
    },
  };
}
