import { type IDE, type IDEConvention, type IDEKind, ideChangedFields, ideKeyOfPod, notebookKey, toIde } from "../domain/ide.ts";
import { validateObjectName, validateProject, validateUser } from "../domain/validation.ts";
import { notebookResource, podResource } from "../kube/resources.ts";
import type { StreamAccess } from "./access.ts";
import { listView } from "./list-view.ts";
import { openStream, type StreamPart } from "./open-stream.ts";
import { PodJoin } from "./pod-join.ts";
import type { StreamEvent } from "./stream-event.ts";
import type { StreamSettings } from "./stream-settings.ts";
import type { ViewDefinition } from "./view-registry.ts";

export interface IdeQuery {
  project: string;
  user?: string | null;
  kind?: IDEKind | null;
  target?: string | null;
}

/** IDEs of a namespace: pods claimed by the enabled conventions, joined with Kubeflow Notebooks. */
export function ideView(userLabel: string, conventions: ReadonlySet<IDEConvention>): ViewDefinition<IDE> {
  const withNotebooks = conventions.has("KUBEFLOW_NOTEBOOK");
  return {
    name: `ides(${[...conventions].sort().join(",")})`,
    resources: () => (withNotebooks ? [podResource, notebookResource] : [podResource]),
    build: ([pods, notebooks], namespace) => {
      if (!pods) throw new Error("the IDE view needs the pod informer");
      const join = new PodJoin(pods, (pod) => ideKeyOfPod(pod, conventions), userLabel);
      return {
        affectedKeys: (source, delta) => (source === 0 ? join.track(delta) : [notebookKey(delta.object)]),
        compute: (key) => {
          const name = key.slice(key.indexOf("/") + 1);
          const notebook = key.startsWith("KUBEFLOW_NOTEBOOK/") ? notebooks?.informer.get(`${namespace}/${name}`) : undefined;
          return toIde(key, namespace, join.members(key), notebook, userLabel);
        },
        diff: ideChangedFields,
      };
    },
  };
}

/** IDE streams and lists, per project, filtered per subscriber. */
export class IdeStreams {
  private readonly settings: StreamSettings;
  private readonly definition: ViewDefinition<IDE>;

  constructor(settings: StreamSettings, conventions: ReadonlySet<IDEConvention>) {
    this.settings = settings;
    this.definition = ideView(settings.userLabel, conventions);
  }

  async events(query: IdeQuery, access: StreamAccess): Promise<AsyncIterableIterator<StreamEvent<IDE>>> {
    const { namespace, part } = this.compile(query);
    return (await openStream(this.settings, access, "ideEvents", namespace, [part as StreamPart<unknown>])) as AsyncIterableIterator<
      StreamEvent<IDE>
    >;
  }

  /** Pod-based IDEs are listed even when the Notebook CRD is missing; without pods there is no answer. */
  list(query: IdeQuery, access: StreamAccess): Promise<IDE[]> {
    const { namespace, part } = this.compile(query);
    return listView(this.settings, access, namespace, part, (missing) => missing.resource === "pods");
  }

  private compile(query: IdeQuery): { namespace: string; part: StreamPart<IDE> } {
    const namespace = validateProject(query.project);
    const user = validateUser(query.user);
    const target = query.target == null ? undefined : validateObjectName(query.target, "target");
    const kind = query.kind ?? undefined;
    return {
      namespace,
      part: {
        definition: this.definition,
        kind: "IDE",
        matches: (ide) =>
          (user === undefined || ide.user === user) &&
          (kind === undefined || ide.kind === kind) &&
          (target === undefined || ide.name === target),
        filterKey: JSON.stringify([user, kind, target]),
        resourceVersion: (ide) => ide.resourceVersion,
      },
    };
  }
}
