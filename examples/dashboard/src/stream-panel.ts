import type { Client } from "graphql-sse";
import { type ResumableState, ResumableSubscription } from "../../client/resumable.ts";
import type { ControlEvent } from "./operations.ts";
import type { PanelDefinition, PanelVariables } from "./panels.ts";

export type ConnectionState = ResumableState;

export interface StreamPanelOptions<E extends { __typename: string }> {
  definition: PanelDefinition<E>;
  client: Client;
  project: string;
  /** Told every change of this panel's connection state. */
  onState: (state: ConnectionState) => void;
}

/**
 * One stream on the page: a heading with its connection badge, the notices of resources kubesub
 * cannot read yet, and the definition's tables, kept live by a ResumableSubscription
 * (examples/client/resumable.ts), which subscribes again from the last cursor it received.
 *
 * Every (re)subscription stages what arrives in the tables and clears the notices;
 * InitialStateComplete commits it: a fresh snapshot, or (resumed: true) the changes missed. The
 * badge carries data-state (connecting, live, reconnecting, error), data-resubscribes and, once
 * live, data-resumed (whether the last subscription resumed without a snapshot) for tests.
 */
export class StreamPanel<E extends { __typename: string }> {
  readonly element: HTMLElement;
  private readonly options: StreamPanelOptions<E>;
  private readonly badge: HTMLElement;
  private readonly notices: HTMLUListElement;
  private readonly subscription: ResumableSubscription<Record<string, E>, PanelVariables>;

  constructor(options: StreamPanelOptions<E>) {
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
    this.element.append(heading, this.notices, ...definition.tables.map((table) => table.element));

    this.subscription = new ResumableSubscription({
      transport: definition.transport(options.client),
      variables: { project: options.project },
      onSubscribe: () => {
        for (const table of definition.tables) table.beginSnapshot();
        this.notices.replaceChildren();
      },
      onEvent: (event) => this.receive(event),
      onState: (state) => this.show(state),
    });
  }

  start(): void {
    this.subscription.start();
  }

  stop(): void {
    this.subscription.stop();
  }

  private receive(event: E): void {
    const control = event as unknown as ControlEvent;
    switch (control.__typename) {
      case "InitialStateComplete":
        for (const table of this.options.definition.tables) table.commitSnapshot(control.resumed);
        return;
      case "ResourceUnavailable":
        this.notice(control);
        return;
      case "StreamError":
        return; // ResumableSubscription handles it and never passes it on.
      default: {
        const readable = this.options.definition.apply(event as Parameters<PanelDefinition<E>["apply"]>[0]);
        if (readable) this.notices.querySelector(`[data-resource="${CSS.escape(readable)}"]`)?.remove();
      }
    }
  }

  private notice(event: Extract<ControlEvent, { __typename: "ResourceUnavailable" }>): void {
    this.notices.querySelector(`[data-resource="${CSS.escape(event.resource)}"]`)?.remove();
    const item = document.createElement("li");
    item.dataset.resource = event.resource;
    item.dataset.reason = event.reason;
    item.textContent = `${event.resource}: ${event.reason.toLowerCase().replaceAll("_", " ")}. ${event.message}. What it holds appears here once kubesub can read it.`;
    this.notices.append(item);
  }

  private show(state: ConnectionState): void {
    const { resubscribes } = this.subscription;
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
