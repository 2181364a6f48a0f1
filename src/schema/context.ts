import type { PodStreams } from "../streams/pod-streams.ts";

/** What every resolver receives. Built per request by server/yoga.ts. */
export interface Context {
  pods: PodStreams;
}
