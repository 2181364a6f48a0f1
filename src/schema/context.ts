import type { DaskStreams } from "../streams/dask-streams.ts";
import type { IdeStreams } from "../streams/ide-streams.ts";
import type { PodStreams } from "../streams/pod-streams.ts";

/** What every resolver receives. Built per request by server/yoga.ts. */
export interface Context {
  pods: PodStreams;
  ides: IdeStreams;
  dask: DaskStreams;
}
