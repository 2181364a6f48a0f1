import type { DaskStreams } from "../streams/dask-streams.ts";
import type { IdeStreams } from "../streams/ide-streams.ts";
import type { PodStreams } from "../streams/pod-streams.ts";
import type { StreamAccess } from "../streams/subscribers/access.ts";

/** What every resolver receives. Built per request by server/yoga.ts. */
export interface Context {
  /** The caller's access, established by the server before GraphQL runs. */
  access: StreamAccess;
  pods: PodStreams;
  ides: IdeStreams;
  dask: DaskStreams;
  /**
   * The Last-Event-ID header of a request in distinct connections mode (an EventSource
   * reconnecting): subscriptions resume after it as after a cursor given as `after`.
   */
  lastEventId?: string;
}
