// The dashboard's three subscriptions: the typed documents graphql-codegen generates from
// examples/operations/*.graphql (`npm run codegen`), and the collections, object and event types
// LiveCollection's definitions of kubesub's streams give them (examples/client/kubesub-streams.ts).
export type {
  DaskAutoscaler,
  DaskCluster,
  DaskCollections,
  DaskEvent,
  DaskJob,
  DaskWorkerGroup,
  IDE,
  IDECollections,
  IDEEvent,
  Pod,
  PodCollections,
  PodEvent,
} from "../../client/kubesub-streams.ts";
export { daskStream, ideStream, podStream } from "../../client/kubesub-streams.ts";
export type { DaskEventsSubscription, IdeEventsSubscription, PodEventsSubscription } from "../../generated/graphql.ts";
export { DaskEventsDocument, IdeEventsDocument, PodEventsDocument } from "../../generated/graphql.ts";
