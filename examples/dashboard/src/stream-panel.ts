import type { Client } from "graphql-sse";
import type { Collections } from "../../client/collection-store.ts";
import { LiveCollection, type LiveSnapshot, type LiveUpdate } from "../../client/live-collection.ts";
import type { ResumableState } from "../../client/resumable.ts";
import type { ResourceUnavailableFieldsFragment } from "../../generated/graphql.ts";
import type { PanelDefinition, PanelVariables } from "./panels.ts";

export type ConnectionState = ResumableState;

export interface StreamPanelOptions<TData, C> {
  definition: PanelDefinition<TData, C>;
  client: Client;
  project: string;
  /** Told every change of this panel's connection state. */
  onState: (state: ConnectionState) => void;
}

/** What the page does with a panel, whatever its stream. */
export interface Panel {
  readonly element: HTMLElement;
  start(): void;
  stop(): void;
}

/**
 * One stream on the page: a heading with its connection badge, the notices of resources kubesub
 * cannot read yet, and the definition's tables, each showing one collection of a LiveCollection
 * (examples/client/live-collection.ts), which subscribes again from the last cursor it received and
 * shows a re-subscription's events at once at InitialStateComplete (a fresh snapshot replaces the
 * rows, the changes of a resumed one are applied to them).
 *
 * The badge carries data-state (connecting, live, reconnecting, error), data-resubscribes and, once
 * live, data-resumed (whether the last subscription resumed without a snapshot) for tests.
 */
export class StreamPanel<TData, C extends Collections<C>> implements Panel {
  readonly element: HTMLElement;
  private readonly options: StreamPanelOptions<TData, C>;
  private readonly badge: HTMLElement;
  private readonly notices: HTMLUListElement;
  private readonly collection: LiveCollection<TData, PanelVariables, C>;
  /** What is on screen, to touch only what changed. */
  private shown: LiveSnapshot<TData, C> | undefined;

  constructor(options: StreamPanelOptions<TData, C>) {
    this.options = options;
    const { definition } = options;
    this.element = document.createElement("section");
    this.element.className = "panel";
    this.element.dataset.testid = `panel-${definition.id}`;
    const heading = document.createElement("h2");
    heading.textContent = definition.title;
    this.badge = document.createElement("span");
    this.badge.className = "badge";
    this.badge.dataset.testid = `connection-${definition.id}`;
    heading.append(" ", this.badge);
    this.notices = document.createElement("ul");
    this.notices.className = "notices";
    this.notices.dataset.testid = `notices-${definition.id}`;
    const tables = definition.stream.collections.map((name) => definition.tables[name].element);
    this.element.append(heading, this.notices, ...tables);

    this.collection = new LiveCollection({
      transport: definition.transport(options.client),
      variables: { project: options.project },
      stream: definition.stream,
    });
    this.collection.subscribe((update, snapshot) => this.render(update, snapshot));
  }

  start(): void {
    this.collection.start();
  }

  stop(): void {
    this.collection.stop();
  }

  private render(update: LiveUpdate<C>, snapshot: LiveSnapshot<TData, C>): void {
    const shown = this.shown;
    this.shown = snapshot;
    const changedFields = new Map<unknown, readonly string[]>();
    if (update.kind === "changes")
      for (const change of update.changes) if (change.changedFields) changedFields.set(change.object, change.changedFields);
    for (const name of this.options.definition.stream.collections) {
      const objects = snapshot.collections[name];
      if (shown?.collections[name] === objects && shown.loaded === snapshot.loaded) continue;
      const table = this.options.definition.tables[name];
      table.show(objects.values(), snapshot.loaded, changedFields as ReadonlyMap<C[typeof name], readonly string[]>);
    }
    if (shown?.unavailable !== snapshot.unavailable) this.showNotices(snapshot);
    if (shown?.connection !== snapshot.connection || shown.resubscribes !== snapshot.resubscribes) this.showState(snapshot);
  }

  private showNotices(snapshot: LiveSnapshot<TData, C>): void {
    this.notices.replaceChildren(
      // Every stream of the page selects ResourceUnavailableFields (examples/operations/stream-events.graphql).
      ...[...snapshot.unavailable.values()].map((unavailable) => {
        const event = unavailable as typeof unavailable & ResourceUnavailableFieldsFragment;
        const item = document.createElement("li");
        item.dataset.resource = event.resource;
        item.dataset.reason = event.reason;
        item.textContent = `${event.resource}: ${event.reason.toLowerCase().replaceAll("_", " ")}. ${event.message}. What it holds appears here once kubesub can read it.`;
        return item;
      }),
    );
  }

  private showState({ connection: state, resubscribes }: LiveSnapshot<TData, C>): void {
    this.badge.dataset.state = state.phase;
    this.badge.dataset.resubscribes = String(resubscribes);
    if (state.phase === "live") this.badge.dataset.resumed = String(state.resumed);
    this.badge.className = `badge state-${state.phase}`;
    this.badge.textContent = describeState(state);
    this.badge.title = resubscribes > 0 ? `subscribed again ${resubscribes} time(s)` : "";
    this.options.onState(state);
  }
}

export function describeState(state: ConnectionState): string {
  switch (state.phase) {
    case "connecting":
      return "connecting…";
    case "live":
      return state.resumed ? "live (resumed)" : "live";
    case "reconnecting":
      return `reconnecting in ${(state.retryInMs / 1000).toFixed(1)} s (${state.reason})`;
    case "error":
      return `error: ${state.message}`;
  }
}
