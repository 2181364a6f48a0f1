// The kubesub dashboard: one project's pods, IDE sessions and Dask clusters, live. Three
// subscriptions over GraphQL over SSE in distinct connections mode, to /graphql on this page's own
// origin (Vite's dev server proxies it to kubesub, so no CORS is involved).
import { createClient } from "graphql-sse";
import type { Collections } from "../../client/collection-store.ts";
import { daskPanel, idePanel, type PanelDefinition, podPanel } from "./panels.ts";
import { type ConnectionState, type Panel, StreamPanel } from "./stream-panel.ts";
import "./style.css";

const defaultProject = "data-science";

// retryAttempts 0: every retry goes through ResumableSubscription, which shows it and subscribes
// again with the last cursor it received (`after`), so that kubesub sends only what was missed.
const client = createClient({ url: "/graphql", retryAttempts: 0 });

const form = document.querySelector<HTMLFormElement>("#project-form");
const input = document.querySelector<HTMLInputElement>("#project");
const panelsRoot = document.querySelector<HTMLElement>("#panels");
const overall = document.querySelector<HTMLElement>("#connection");
if (!form || !input || !panelsRoot || !overall) throw new Error("index.html is missing the dashboard's elements");

/** Worst first: the page-wide indicator shows the worst state of its three streams. */
const severity: ConnectionState["phase"][] = ["error", "reconnecting", "connecting", "live"];

let panels: Panel[] = [];

function show(project: string): void {
  for (const panel of panels) panel.stop();
  const states = new Map<string, ConnectionState["phase"]>();
  const onState = (id: string) => (state: ConnectionState) => {
    states.set(id, state.phase);
    const worst = severity.find((phase) => [...states.values()].includes(phase)) ?? "connecting";
    if (!overall) return;
    overall.dataset.state = worst;
    overall.textContent = worst;
    overall.className = `badge state-${worst}`;
  };
  const open = <TData, C extends Collections<C>>(definition: PanelDefinition<TData, C>): Panel =>
    new StreamPanel({ definition, client, project, onState: onState(definition.id) });
  panels = [open(podPanel()), open(idePanel()), open(daskPanel())];
  panelsRoot?.replaceChildren(...panels.map((panel) => panel.element));
  document.title = `${project} · kubesub dashboard`;
  for (const panel of panels) panel.start();
}

function chosenProject(): string {
  return new URL(location.href).searchParams.get("project")?.trim() || defaultProject;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const project = input.value.trim() || defaultProject;
  const url = new URL(location.href);
  url.searchParams.set("project", project);
  history.pushState(null, "", url);
  show(project);
});

window.addEventListener("popstate", () => {
  input.value = chosenProject();
  show(input.value);
});

input.value = chosenProject();
show(input.value);
