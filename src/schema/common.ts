import type { LabelSelector } from "../domain/label-selector.ts";
import type { EventCause, StreamErrorCode, StreamEvent } from "../streams/subscribers/stream-event.ts";
import type { UnavailableReason } from "../streams/views/view.ts";
import { builder } from "./builder.ts";

/** The description of the `cursor` field every event type of the unions has. */
export const cursorDescription =
  "This event's position in its stream, opaque: give it back as the subscription's after argument (over SSE it is also the frame's id, which an EventSource sends back as Last-Event-ID) to resume after it with only the changes since. Made of the apiserver's resourceVersions, so any kubesub replica of the same cluster can resume it as far as its history reaches. Events before InitialStateComplete carry a position from which a stream starts with a fresh snapshot.";

export const afterArgDescription =
  "Resume after this cursor (an event's cursor field): only the changes since, then InitialStateComplete { resumed: true }; or, when kubesub's history no longer covers it, a fresh snapshot and resumed: false. A string that is not a cursor is BAD_USER_INPUT. Over SSE in distinct connections mode, a Last-Event-ID header that is a cursor takes its place.";

export const DateTime = builder.scalarType("DateTime", {
  description: "An instant, as an ISO 8601 string in UTC: 2026-11-30T06:00:00.000Z.",
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== "string" || Number.isNaN(Date.parse(value))) throw new TypeError("DateTime must be an ISO 8601 string");
    return value;
  },
});

export const EventCauseEnum = builder.enumType("EventCause", {
  description: "Why an object entered or left this stream.",
  values: {
    INITIAL_STATE: { description: "Part of the current state sent when the stream starts." },
    CLUSTER_CHANGE: { description: "The object was created or deleted in the cluster." },
    FILTER_CHANGE: {
      description: "The object changed so that it now matches, or no longer matches, this stream's filter (for example its user label).",
    },
  } satisfies Record<EventCause, object>,
});

export const StreamErrorCodeEnum = builder.enumType("StreamErrorCode", {
  description: "Why a stream ended with StreamError; retryable says whether subscribing again may help.",
  values: {
    OVERFLOW: {
      description:
        "This client left more bytes unread on its connection than kubesub holds for it (--max-buffered-bytes); a slow reader's changes are coalesced first. Reconnect with the last cursor received (after, or Last-Event-ID) to resume without losing anything.",
    },
    SHUTTING_DOWN: { description: "kubesub is shutting down. Reconnect; another replica or the restarted one will answer." },
    MAX_LIFETIME: {
      description:
        "The stream reached its maximum lifetime (--max-stream-lifetime, randomised per stream), which kubesub sets so that streams spread again over its replicas after a restart or a scale-up. Reconnect with this event's cursor (after, or Last-Event-ID) to resume with nothing lost and no snapshot.",
    },
    FORBIDDEN: { description: "Your access to what this stream reads was revoked. Reconnecting will not help until it is granted again." },
    UNAUTHENTICATED: { description: "Your token is no longer valid. Get a new one before reconnecting." },
  } satisfies Record<StreamErrorCode, object>,
});

type Complete = Extract<StreamEvent<unknown>, { type: "initial-state-complete" }>;
type Failure = Extract<StreamEvent<unknown>, { type: "error" }>;
type Unavailable = Extract<StreamEvent<unknown>, { type: "unavailable" }>;

export const UnavailableReasonEnum = builder.enumType("UnavailableReason", {
  description: "Why a resource a stream reads cannot be read (ResourceUnavailable.reason).",
  values: {
    NOT_INSTALLED: { description: "The resource's CustomResourceDefinition is not installed in the cluster." },
    FORBIDDEN: { description: "kubesub's own service account may not list and watch it." },
    UNREACHABLE: { description: "The apiserver did not answer in time." },
    NAMESPACE_TERMINATING: {
      description:
        'The project\'s namespace is being deleted (resource "namespaces"): its objects are being deleted, each told as Deleted, and no new ones can be made in it.',
    },
    NAMESPACE_NOT_FOUND: {
      description:
        'The project\'s namespace does not exist (resource "namespaces"): never created, or deleted. The stream stays open; if the namespace is created (again), its objects arrive as Added.',
    },
  } satisfies Record<UnavailableReason, object>,
});

export const ResourceUnavailable = builder.objectRef<Unavailable>("ResourceUnavailable").implement({
  description:
    "A resource this stream reads cannot be read: yet (before InitialStateComplete), or any more (live: its CRD was deleted, or kubesub's access to it taken away; once per outage). The stream goes on with what it can read; kubesub keeps retrying, and the resource's objects arrive as ordinary Added events once it can. With resource \"namespaces\", the project itself: its namespace is being deleted (NAMESPACE_TERMINATING) or does not exist (NAMESPACE_NOT_FOUND), each told once when it happens.",
  fields: (t) => ({
    resource: t.exposeString("resource", { description: 'Resource and group, as RBAC names them: "daskclusters.kubernetes.dask.org".' }),
    namespace: t.exposeString("namespace", { description: "The project (namespace) in which it cannot be read." }),
    reason: t.expose("reason", { type: UnavailableReasonEnum, description: "Why it cannot be read." }),
    message: t.exposeString("message", {
      description: "A sentence for a person, in English, saying what is wrong; not meant to be parsed (switch on reason).",
    }),
    observedAt: t.expose("observedAt", { type: DateTime, description: "When kubesub found that it cannot be read." }),
    cursor: t.exposeString("cursor", { description: cursorDescription }),
  }),
});

export const InitialStateComplete = builder.objectRef<Complete>("InitialStateComplete").implement({
  description:
    "Every object that matched when the stream started has been sent (or, when it resumed after a cursor, every change since); what follows is live.",
  fields: (t) => ({
    count: t.exposeInt("count", {
      description: "How many objects the initial state held; when resumed, how many changes since the cursor were sent.",
    }),
    resumed: t.exposeBoolean("resumed", {
      description:
        "true: the stream resumed after the cursor given (after, or Last-Event-ID) and sent only the changes since, no snapshot. false: it sent a fresh snapshot, because no cursor was given or kubesub's history no longer covers it (too old, another project or stream, a relist since, or a replica that has not seen it).",
    }),
    resourceVersion: t.exposeString("resourceVersion", { description: "The cache's resourceVersion at that moment." }),
    observedAt: t.expose("observedAt", { type: DateTime, description: "When kubesub sent the marker (its own clock)." }),
    cursor: t.exposeString("cursor", { description: cursorDescription }),
  }),
});

export const StreamError = builder.objectRef<Failure>("StreamError").implement({
  description: "The stream cannot go on. Always the last event of its stream.",
  fields: (t) => ({
    code: t.expose("code", { type: StreamErrorCodeEnum, description: "What ended the stream; switch on it." }),
    message: t.exposeString("message", { description: "A sentence for a person, in English; not meant to be parsed (switch on code)." }),
    retryable: t.exposeBoolean("retryable", { description: "Whether subscribing again may succeed." }),
    observedAt: t.expose("observedAt", { type: DateTime, description: "When kubesub ended the stream." }),
    cursor: t.exposeString("cursor", { description: cursorDescription }),
  }),
});

export const SelectorOperatorEnum = builder.enumType("SelectorOperator", {
  description: "The operator of a label selector requirement, as in Kubernetes' matchExpressions.",
  values: {
    IN: { description: "The label is set and its value is one of values." },
    NOT_IN: { description: "The label is not set, or its value is none of values." },
    EXISTS: { description: "The label is set, whatever its value." },
    DOES_NOT_EXIST: { description: "The label is not set." },
  },
});

const LabelInput = builder.inputType("LabelInput", {
  description: "A label that must be set with exactly this value (one entry of matchLabels).",
  fields: (t) => ({
    key: t.string({ required: true, description: 'The label\'s key, with its prefix if it has one: "app.kubernetes.io/name".' }),
    value: t.string({ required: true, description: "The value the label must have." }),
  }),
});

const LabelSelectorRequirementInput = builder.inputType("LabelSelectorRequirementInput", {
  description: "One requirement on a label (one entry of matchExpressions).",
  fields: (t) => ({
    key: t.string({ required: true, description: "The label's key, with its prefix if it has one." }),
    operator: t.field({ type: SelectorOperatorEnum, required: true, description: "How the label's value is tested against values." }),
    values: t.stringList({ required: false, description: "Required for IN and NOT_IN; empty for EXISTS and DOES_NOT_EXIST." }),
  }),
});

export const LabelSelectorInput = builder.inputRef<LabelSelector>("LabelSelectorInput").implement({
  description: "A Kubernetes label selector: every matchLabels pair and every matchExpressions requirement must hold.",
  fields: (t) => ({
    matchLabels: t.field({ type: [LabelInput], required: false, description: "Labels that must be set with exactly these values." }),
    matchExpressions: t.field({
      type: [LabelSelectorRequirementInput],
      required: false,
      description: "Requirements that must all hold.",
    }),
  }),
});
