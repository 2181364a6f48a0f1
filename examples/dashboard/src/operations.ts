// The dashboard's three subscriptions: the typed documents graphql-codegen generates from
// examples/operations/*.graphql (`npm run codegen`), and the shapes of their events under the names
// the dashboard uses.
import {
  type DaskAutoscalerFieldsFragment,
  type DaskClusterFieldsFragment,
  DaskEventsDocument,
  type DaskEventsSubscription,
  type DaskJobFieldsFragment,
  type DaskWorkerGroupFieldsFragment,
  IdeEventsDocument,
  type IdeEventsSubscription,
  type IdeFieldsFragment,
  PodEventsDocument,
  type PodEventsSubscription,
  type PodFieldsFragment,
} from "../../generated/graphql.ts";

export type Pod = PodFieldsFragment;
export type IDE = IdeFieldsFragment;
export type DaskCluster = DaskClusterFieldsFragment;
export type DaskWorkerGroup = DaskWorkerGroupFieldsFragment;
export type DaskAutoscaler = DaskAutoscalerFieldsFragment;
export type DaskJob = DaskJobFieldsFragment;

export type PodEvent = PodEventsSubscription["podEvents"];
export type IDEEvent = IdeEventsSubscription["ideEvents"];
export type DaskEvent = DaskEventsSubscription["daskEvents"];

/** The members every event union shares. */
export type ControlEvent = Extract<PodEvent, { __typename: "InitialStateComplete" | "ResourceUnavailable" | "StreamError" }>;

export { DaskEventsDocument, IdeEventsDocument, PodEventsDocument };
