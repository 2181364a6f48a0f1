import type { ObjectRef } from "@pothos/core";
import type { StreamEvent } from "../streams/subscribers/stream-event.ts";
import { builder } from "./builder.ts";
import { cursorDescription, DateTime, EventCauseEnum, InitialStateComplete, ResourceUnavailable, StreamError } from "./common.ts";

const coalescedDescription =
  "How many changes to this object this event stands for: 1, or more when this client read too slowly and kubesub merged the changes it had not sent it yet into one (previous is then what it last sent, changedFields every field they changed, cursor the last one's).";

const resourceVersionDescription =
  "The apiserver's resourceVersion of the change this event tells (for a joined object, the highest of its parts). Opaque: compare for equality only; to resume a stream use cursor.";
const observedAtDescription = "When kubesub saw the change (its own clock), not when it happened in the cluster.";
const causeDescription = "Why the object entered or left this stream: part of the initial state, created or deleted, or a filter change.";

type Of<M, K extends StreamEvent<M>["type"]> = Extract<StreamEvent<M>, { type: K }>;
// biome-ignore lint/suspicious/noExplicitAny: Pothos refs of any builder type
type AnyRef = ObjectRef<any, any>;

export interface ChangeMembers {
  added: AnyRef;
  updated: AnyRef;
  deleted: AnyRef;
}

/**
 * The Added, Updated and Deleted members for one model: `<Name>Added { <field> cause ... }`, and so
 * on. Every union of kubesub is built from these and the shared markers, so clients handle every
 * stream the same way.
 */
export function changeMembers<M>(name: string, field: string, model: ObjectRef<never, M> | AnyRef, what: string): ChangeMembers {
  const added = builder.objectRef<Of<M, "added">>(`${name}Added`).implement({
    description: `${what} entered this stream: it exists now (INITIAL_STATE), was created, or now matches the filter.`,
    fields: (t) => ({
      [field]: t.field({
        type: model as AnyRef,
        description: `The ${name} as it is now.`,
        resolve: (event) => event.object as never,
      }),
      cause: t.expose("cause", { type: EventCauseEnum, description: causeDescription }),
      resourceVersion: t.exposeString("resourceVersion", { description: resourceVersionDescription }),
      observedAt: t.expose("observedAt", { type: DateTime, description: observedAtDescription }),
      cursor: t.exposeString("cursor", { description: cursorDescription }),
      coalesced: t.int({ description: coalescedDescription, resolve: (event) => event.coalesced ?? 1 }),
    }),
  });
  const updated = builder.objectRef<Of<M, "updated">>(`${name}Updated`).implement({
    description: `${what} in this stream changed in a field this API serves.`,
    fields: (t) => ({
      [field]: t.field({
        type: model as AnyRef,
        description: `The ${name} as it is now, after the change.`,
        resolve: (event) => event.object as never,
      }),
      previous: t.field({
        type: model as AnyRef,
        description:
          "As this stream last sent it. Select no id here (nor in the pods within it): a normalised cache (Apollo Client, urql's Graphcache) would take this earlier state, which has the same id, for the object's current one.",
        resolve: (event) => event.previous as never,
      }),
      changedFields: t.exposeStringList("changedFields", { description: `Names of the ${name} fields that differ from previous.` }),
      resourceVersion: t.exposeString("resourceVersion", { description: resourceVersionDescription }),
      observedAt: t.expose("observedAt", { type: DateTime, description: observedAtDescription }),
      cursor: t.exposeString("cursor", { description: cursorDescription }),
      coalesced: t.int({ description: coalescedDescription, resolve: (event) => event.coalesced ?? 1 }),
    }),
  });
  const deleted = builder.objectRef<Of<M, "deleted">>(`${name}Deleted`).implement({
    description: `${what} left this stream: it was deleted, or no longer matches the filter. ${field} is its last known state.`,
    fields: (t) => ({
      [field]: t.field({
        type: model as AnyRef,
        description: `The ${name} as kubesub last knew it, before it was deleted or stopped matching.`,
        resolve: (event) => event.object as never,
      }),
      cause: t.expose("cause", { type: EventCauseEnum, description: causeDescription }),
      resourceVersion: t.exposeString("resourceVersion", { description: resourceVersionDescription }),
      observedAt: t.expose("observedAt", { type: DateTime, description: observedAtDescription }),
      cursor: t.exposeString("cursor", { description: cursorDescription }),
      coalesced: t.int({ description: coalescedDescription, resolve: (event) => event.coalesced ?? 1 }),
    }),
  });
  return { added, updated, deleted };
}

/** A union of change members by model kind, plus InitialStateComplete, ResourceUnavailable and StreamError. */
export function eventUnion(name: string, description: string, byKind: Record<string, ChangeMembers>) {
  const changes = Object.values(byKind).flatMap((m) => [m.added, m.updated, m.deleted]);
  return builder.unionType(name, {
    description,
    types: [...changes, InitialStateComplete, ResourceUnavailable, StreamError],
    resolveType: (value) => {
      const event = value as StreamEvent<unknown>;
      switch (event.type) {
        case "initial-state-complete":
          return InitialStateComplete;
        case "unavailable":
          return ResourceUnavailable;
        case "error":
          return StreamError;
        default: {
          const members = byKind[event.kind];
          if (!members) throw new Error(`${name} has no members for kind ${event.kind}`);
          return members[event.type];
        }
      }
    },
  });
}
