import type { IDE, IDEConvention, IDEKind } from "../domain/ide.ts";
import type { IdeName } from "../domain/identity.ts";
import { validateObjectName, validateProject } from "../domain/validation.ts";
import type { StreamServices } from "./stream-services.ts";
import { type StreamAccess, selectedUser } from "./subscribers/access.ts";
import { findInView } from "./subscribers/find-in-view.ts";
import { listView } from "./subscribers/list-view.ts";
import { openStream } from "./subscribers/open-stream.ts";
import type { Selection } from "./subscribers/selection.ts";
import type { StreamEvent } from "./subscribers/stream-event.ts";
import { type ResumeQuery, resumePoint } from "./views/cursor.ts";
import { ideView } from "./views/ide-view.ts";
import type { ViewDefinition } from "./views/view-registry.ts";

export interface IdeQuery {
  project: string;
  user?: string | null;
  kind?: IDEKind | null;
  target?: string | null;
}

/** IDE streams and lists, per project, filtered per subscriber. */
export class IdeStreams {
  private readonly services: StreamServices;
  private readonly definition: ViewDefinition<IDE>;

  constructor(services: StreamServices, conventions: ReadonlySet<IDEConvention>) {
    this.services = services;
    this.definition = ideView(services.userLabel, conventions);
  }

  async events(query: IdeQuery & ResumeQuery, access: StreamAccess): Promise<AsyncIterableIterator<StreamEvent<IDE>>> {
    const { namespace, selection } = this.compile(query, access);
    const after = resumePoint(query.after, query.lastEventId);
    return (await openStream(
      this.services,
      access,
      "ideEvents",
      namespace,
      [selection as Selection<unknown>],
      after,
    )) as AsyncIterableIterator<StreamEvent<IDE>>;
  }

  /** Pod-based IDEs are listed even when the Notebook CRD is missing; without pods there is no answer. */
  list(query: IdeQuery, access: StreamAccess): Promise<IDE[]> {
    const { namespace, selection } = this.compile(query, access);
    return listView(this.services, access, namespace, selection, (missing) => missing.resource === "pods");
  }

  /** The IDE of this convention and name, or null: see findInView for what null hides. */
  find(ide: IdeName, access: StreamAccess): Promise<IDE | null> {
    const { namespace, selection } = this.compile({ project: ide.namespace }, access);
    const is = (candidate: IDE) => candidate.convention === ide.convention && candidate.name === ide.name;
    return findInView(this.services, access, namespace, selection, is, (missing) => missing.resource === "pods");
  }

  private compile(query: IdeQuery, access: StreamAccess): { namespace: string; selection: Selection<IDE> } {
    const namespace = validateProject(query.project);
    const user = selectedUser(query.user, access);
    const target = query.target == null ? undefined : validateObjectName(query.target, "target");
    const kind = query.kind ?? undefined;
    return {
      namespace,
      selection: {
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
