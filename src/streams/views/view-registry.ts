import type { Logger } from "pino";
import { type Clock, systemClock, type Timer } from "../../clock.ts";
import type { InformerLease, InformerRegistry } from "../../kube/informer-registry.ts";
import { namespacePresence } from "../../kube/namespace-presence.ts";
import { namespaceResource } from "../../kube/resources.ts";
import type { KubeObject, ResourceType } from "../../kube/types.ts";
import { DerivedView, type DerivedViewOptions, type ViewSource } from "./derived-view.ts";
import type { HistoryLimits } from "./history.ts";
import { rewind } from "./rewound-informer.ts";
import type { View } from "./view.ts";

/** How to derive one kind of model in a namespace from informers. */
export interface ViewDefinition<M> {
  /** Unique among definitions: "pods", "ides", "daskclusters"... */
  name: string;
  /**
   * Views one stream may read together share a family ("dask"): their cursors carry each other's
   * positions. Default: the name.
   */
  family?: string;
  /** The resources read, in the order build() receives their informers. */
  resources: (namespace: string) => ResourceType[];
  build(sources: ViewSource[], namespace: string): Omit<DerivedViewOptions<M>, "sources" | "description" | "logger">;
}

export interface ViewLease<M> {
  readonly view: View<M>;
  /** Idempotent. */
  release(): void;
}

interface Entry {
  view: DerivedView<unknown>;
  leases: InformerLease<KubeObject>[];
  references: number;
  /** Closes it, once its last subscriber has left and the linger is over. */
  linger?: Timer;
}

/**
 * Shares one view per (definition, namespace) among its subscribers, so that joins and change
 * detection run once per event, not once per subscriber. A view holds leases on its informers and
 * gives them back when its last subscriber leaves, or options.lingerMs later, keeping its history
 * for a client that comes back (the informers then linger on their own).
 */
export interface ViewRegistryOptions {
  /** Recent deltas each view keeps for streams that resume (--history-size, --history-age). Default: none. */
  history?: HistoryLimits;
  /**
   * How long a view (its history, and so its informers) outlives its last subscriber, so that a
   * lone client that reconnects can still resume (--history-linger). Default 0: it closes at once.
   */
  lingerMs?: number;
  /** Stamps the history and times the linger. Default systemClock. */
  clock?: Clock;
}

export class ViewRegistry {
  private readonly informers: InformerRegistry;
  private readonly logger: Logger | undefined;
  private readonly entries = new Map<string, Entry>();
  /** Views in use by family and namespace: the siblings whose positions a view's cursors carry. */
  private readonly families = new Map<string, Set<DerivedView<unknown>>>();
  private readonly options: ViewRegistryOptions;

  constructor(informers: InformerRegistry, logger?: Logger, options: ViewRegistryOptions = {}) {
    this.informers = informers;
    this.logger = logger;
    this.options = options;
  }

  acquire<M>(definition: ViewDefinition<M>, namespace: string): ViewLease<M> {
    const key = `${definition.name}/${namespace}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const leases = definition.resources(namespace).map((type) => this.informers.acquire<KubeObject>(type, namespace));
      let sources: ViewSource[] = definition
        .resources(namespace)
        .map((type, i) => ({ type, namespace, informer: (leases[i] as InformerLease<KubeObject>).informer }));
      // With a history to keep, the view starts as far back as its informers' change logs reach,
      // so that a client resuming from a cursor handed out just before by another replica (or by
      // this one, before the view closed) finds the changes it missed.
      const rewound = this.options.history && this.options.history.size > 0 ? rewind(sources) : undefined;
      if (rewound) sources = sources.map((source, i) => ({ ...source, informer: rewound.informers[i] ?? source.informer }));
      // Every view also reads which namespaces exist, to tell its subscribers when its own is deleted.
      const namespaces = this.informers.acquire<KubeObject>(namespaceResource, namespace);
      leases.push(namespaces);
      const family = definition.family ?? definition.name;
      const familyKey = `${family}/${namespace}`;
      let siblings = this.families.get(familyKey);
      if (!siblings) {
        siblings = new Set();
        this.families.set(familyKey, siblings);
      }
      const members = siblings;
      const view = new DerivedView<M>({
        ...definition.build(sources, namespace),
        sources,
        project: { namespace, presence: namespacePresence(namespaces.informer) },
        identity: { name: definition.name, family, namespace, siblings: () => members },
        history: this.options.history,
        clock: this.options.clock,
        description: key,
        logger: this.logger,
      });
      rewound?.replay();
      members.add(view as DerivedView<unknown>);
      entry = { view: view as DerivedView<unknown>, leases, references: 0 };
      this.entries.set(key, entry);
    }
    entry.linger?.cancel();
    entry.linger = undefined;
    entry.references += 1;
    const held = entry;
    let released = false;
    return {
      view: held.view as DerivedView<M>,
      release: () => {
        if (released) return;
        released = true;
        held.references -= 1;
        if (held.references > 0 || this.entries.get(key) !== held) return;
        const close = () => {
          if (held.references > 0 || this.entries.get(key) !== held) return;
          this.entries.delete(key);
          const family = `${definition.family ?? definition.name}/${namespace}`;
          const members = this.families.get(family);
          members?.delete(held.view);
          if (members?.size === 0) this.families.delete(family);
          held.view.close();
          for (const lease of held.leases) lease.release();
        };
        const lingerMs = this.options.lingerMs ?? 0;
        if (lingerMs > 0) held.linger = (this.options.clock ?? systemClock).timeout(close, lingerMs).unref();
        else close();
      },
    };
  }

  /** Closes the views that linger without subscribers (at shutdown). */
  closeLingering(): void {
    for (const [key, entry] of [...this.entries]) {
      if (entry.references > 0) continue;
      entry.linger?.cancel();
      this.entries.delete(key);
      entry.view.close();
      for (const lease of entry.leases) lease.release();
    }
    this.families.clear();
  }

  /** Views in use, with their subscriber counts. */
  snapshot(): { key: string; references: number }[] {
    return [...this.entries].map(([key, entry]) => ({ key, references: entry.references }));
  }
}
