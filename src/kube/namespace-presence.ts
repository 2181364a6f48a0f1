import { isPermanent } from "./errors.ts";
import type { SharedInformer } from "./informer.ts";
import type { Delta } from "./store.ts";
import type { KubeObject } from "./types.ts";

/**
 * What kubesub knows of a project's namespace: it exists ("active"), it is being deleted
 * ("terminating": its objects are being deleted, new ones are refused), it does not exist
 * ("absent": never created, or deleted), or nothing ("unknown": the namespaces informer has not
 * synced, or kubesub may not list namespaces; then nothing is told).
 */
export type NamespaceState = "active" | "terminating" | "absent" | "unknown";

/**
 * A namespace's move to "terminating" or "absent". cause is one object per move, the same for
 * every listener of the namespace, so that a stream reading several views of it tells it once.
 */
export type NamespaceChange = { state: "terminating" | "absent"; cause: object };

const terminating = (object: KubeObject | undefined) => object?.metadata?.deletionTimestamp !== undefined;

/**
 * Which namespaces exist, from the cluster-wide namespaces informer (namespaceResource): one per
 * informer (namespacePresence), one handler on it, routing each Namespace's change to the listeners
 * of that namespace only.
 */
export class NamespacePresence {
  private readonly informer: SharedInformer<KubeObject>;
  private readonly listeners = new Map<string, Set<(change: NamespaceChange) => void>>();

  constructor(informer: SharedInformer<KubeObject>) {
    this.informer = informer;
    informer.addHandler((delta) => this.onDelta(delta));
  }

  /** The namespaces informer, for settling. */
  get source(): SharedInformer<KubeObject> {
    return this.informer;
  }

  stateOf(namespace: string): NamespaceState {
    if (!this.informer.hasSynced || isPermanent(this.informer.status.lastError)) return "unknown";
    const object = this.informer.get(namespace);
    if (!object) return "absent";
    return terminating(object) ? "terminating" : "active";
  }

  /** Told when the namespace starts being deleted and when it is gone. Returns the function that stops it. */
  watch(namespace: string, listener: (change: NamespaceChange) => void): () => void {
    let listeners = this.listeners.get(namespace);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(namespace, listeners);
    }
    listeners.add(listener);
    const added = listeners;
    return () => {
      added.delete(listener);
      if (added.size === 0 && this.listeners.get(namespace) === added) this.listeners.delete(namespace);
    };
  }

  private onDelta(delta: Delta<KubeObject>): void {
    const listeners = this.listeners.get(delta.object.metadata?.name ?? "");
    if (!listeners) return;
    let state: NamespaceChange["state"] | undefined;
    if (delta.type === "deleted") state = "absent";
    else if (terminating(delta.object) && !(delta.type === "updated" && terminating(delta.old))) state = "terminating";
    if (!state) return;
    const change = { state, cause: {} };
    for (const listener of listeners) listener(change);
  }
}

const presences = new WeakMap<SharedInformer<KubeObject>, NamespacePresence>();

/** The presence over this namespaces informer, made once per informer. */
export function namespacePresence(informer: SharedInformer<KubeObject>): NamespacePresence {
  let presence = presences.get(informer);
  if (!presence) {
    presence = new NamespacePresence(informer);
    presences.set(informer, presence);
  }
  return presence;
}
