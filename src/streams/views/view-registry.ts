import type { Logger } from "pino";
import type { InformerLease, InformerRegistry } from "../../kube/informer-registry.ts";
import { namespacePresence } from "../../kube/namespace-presence.ts";
import { namespaceResource } from "../../kube/resources.ts";
import type { KubeObject, ResourceType } from "../../kube/types.ts";
import { DerivedView, type DerivedViewOptions, type ViewSource } from "./derived-view.ts";
import type { View } from "./view.ts";

/** How to derive one kind of model in a namespace from informers. */
export interface ViewDefinition<M> {
  /** Unique among definitions: "pods", "ides", "daskclusters"... */
  name: string;
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
}

/**
 * Shares one view per (definition, namespace) among its subscribers, so that joins and change
 * detection run once per event, not once per subscriber. A view holds leases on its informers and
 * gives them back when its last subscriber leaves (the informers then linger on their own).
 */
export class ViewRegistry {
  private readonly informers: InformerRegistry;
  private readonly logger: Logger | undefined;
  private readonly entries = new Map<string, Entry>();

  constructor(informers: InformerRegistry, logger?: Logger) {
    this.informers = informers;
    this.logger = logger;
  }

  acquire<M>(definition: ViewDefinition<M>, namespace: string): ViewLease<M> {
    const key = `${definition.name}/${namespace}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const leases = definition.resources(namespace).map((type) => this.informers.acquire<KubeObject>(type, namespace));
      const sources = definition
        .resources(namespace)
        .map((type, i) => ({ type, namespace, informer: (leases[i] as InformerLease<KubeObject>).informer }));
      // Every view also reads which namespaces exist, to tell its subscribers when its own is deleted.
      const namespaces = this.informers.acquire<KubeObject>(namespaceResource, namespace);
      leases.push(namespaces);
      const view = new DerivedView<M>({
        ...definition.build(sources, namespace),
        sources,
        project: { namespace, presence: namespacePresence(namespaces.informer) },
        description: key,
        logger: this.logger,
      });
      entry = { view: view as DerivedView<unknown>, leases, references: 0 };
      this.entries.set(key, entry);
    }
    entry.references += 1;
    const held = entry;
    let released = false;
    return {
      view: held.view as DerivedView<M>,
      release: () => {
        if (released) return;
        released = true;
        held.references -= 1;
        if (held.references === 0 && this.entries.get(key) === held) {
          this.entries.delete(key);
          held.view.close();
          for (const lease of held.leases) lease.release();
        }
      },
    };
  }

  /** Views in use, with their subscriber counts. */
  snapshot(): { key: string; references: number }[] {
    return [...this.entries].map(([key, entry]) => ({ key, references: entry.references }));
  }
}
