import type { LoggedChange } from "./change-log.ts";
import type { DeltaHandler, Informer, InformerStatus, SharedInformer } from "./informer.ts";
import type { KubeObject } from "./types.ts";

/**
 * One namespace's share of a cluster-wide informer (--watch-scope cluster): its objects, and only
 * the deltas of its objects, found through the informer's namespace index, so that a change in
 * one project costs nothing in the others. Sync and failures are the cluster-wide informer's.
 */
export class NamespaceInformer<T extends KubeObject> implements SharedInformer<T> {
  readonly description: string;
  readonly clusterWide = true;
  private readonly informer: Informer<T>;
  private readonly namespace: string;

  constructor(informer: Informer<T>, namespace: string) {
    this.informer = informer;
    this.namespace = namespace;
    this.description = `${informer.description}, for ${namespace}`;
  }

  get hasSynced(): boolean {
    return this.informer.hasSynced;
  }

  get status(): InformerStatus {
    return this.informer.status;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    return this.informer.waitForSync(signal);
  }

  list(): T[] {
    return this.informer.listIn(this.namespace);
  }

  get(key: string): T | undefined {
    const object = this.informer.get(key);
    return object?.metadata?.namespace === this.namespace ? object : undefined;
  }

  addHandler(handler: DeltaHandler<T>): () => void {
    return this.informer.addNamespaceHandler(this.namespace, handler);
  }

  addOutageHandler(handler: (cause: unknown) => void): () => void {
    return this.informer.addOutageHandler(handler);
  }

  recentChanges(namespace: string): { from: string; changes: LoggedChange<T>[] } | undefined {
    return this.informer.recentChanges(namespace);
  }

  digest(namespace: string): string {
    return this.informer.digest(namespace);
  }

  quietSince(): string | undefined {
    return this.informer.quietSinceIn(this.namespace);
  }
}
