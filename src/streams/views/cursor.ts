import { BadUserInputError } from "../../errors.ts";

/**
 * A stream's position, handed to clients as an opaque string (the `cursor` of every event, the SSE
 * `id:` of its frame) and given back as `after` (or Last-Event-ID) to resume.
 *
 * Contract:
 * - A position is made of the apiserver's resourceVersions, never of a process-local counter, so
 *   that every kubesub process watching the same cluster reads it the same way. Separate watches
 *   are not ordered against each other, so it holds one resourceVersion per view and source
 *   resource: "this view has handled every change of this resource up to this resourceVersion".
 * - `at`, when present, says the position was taken while the named view was still handling the
 *   change of `resource` at its resourceVersion: the event carrying it was that change's `index`th
 *   delta of the view (a pod moving between two IDEs changes both); later ones of the same change
 *   are still to come.
 * - It names its namespace and view family ("pods", "ides(…)", "dask"): a cursor of another
 *   project or another kind of stream is unknown, never misread.
 * - `views` undefined is the position of no change at all (events before InitialStateComplete):
 *   resuming from it always starts with a snapshot.
 * - `digests`, in a position taken between two changes only (InitialStateComplete, StreamError
 *   SHUTTING_DOWN), gives by source resource the digest of the namespace's objects then
 *   (NamespaceDigests): a process whose cache holds the same digest can vouch that nothing the
 *   cursor's views serve changed since, however long ago the position is and whether or not it
 *   watched the time between.
 * - Encoding: base64url of a JSON array, version first. Views' positions share one base map per
 *   resource; a view that differs from it (one still to handle a change its siblings have
 *   handled) carries its own. decodeCursor() returns undefined for anything it cannot read, so an
 *   unknown version or a malformed string is never mistaken for a position.
 */
export interface Cursor {
  namespace: string;
  family: string;
  /** By view name, by source resource: the resourceVersion handled up to ("" for a source never read). */
  views: Map<string, Map<string, string>> | undefined;
  at?: { view: string; resource: string; index: number };
  /** By source resource: the digest of the namespace's objects at this position (see above). */
  digests?: Map<string, string>;
}

const version = 1;

type Encoded = [
  v: number,
  namespace: string,
  family: string,
  views: string[] | null,
  base: Record<string, string>,
  own: Record<string, Record<string, string>>,
  at: [view: number, resource: string, index: number] | null,
  digests?: Record<string, string>,
];

export function encodeCursor(cursor: Cursor): string {
  const names: string[] = [];
  const base: Record<string, string> = {};
  const own: Record<string, Record<string, string>> = {};
  for (const [view, positions] of cursor.views ?? []) {
    const index = names.push(view) - 1;
    for (const [resource, position] of positions) {
      if (!(resource in base)) base[resource] = position;
      else if (base[resource] !== position) {
        const differs = own[index] ?? {};
        differs[resource] = position;
        own[index] = differs;
      }
    }
  }
  const at = cursor.at ? ([names.indexOf(cursor.at.view), cursor.at.resource, cursor.at.index] as const) : null;
  const encoded: Encoded = [version, cursor.namespace, cursor.family, cursor.views ? names : null, base, own, at as Encoded[6]];
  if (cursor.digests) encoded.push(Object.fromEntries(cursor.digests));
  return Buffer.from(JSON.stringify(encoded)).toString("base64url");
}

/** undefined: not a cursor this version of kubesub can read. */
export function decodeCursor(text: string): Cursor | undefined {
  if (text.length === 0 || text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length < 7 || value.length > 8 || value[0] !== version) return undefined;
  const [, namespace, family, names, base, own, at, digests] = value as unknown[];
  if (typeof namespace !== "string" || typeof family !== "string") return undefined;
  if (!isStringMap(base) || typeof own !== "object" || own === null || Array.isArray(own)) return undefined;
  let views: Map<string, Map<string, string>> | undefined;
  if (names !== null) {
    if (!Array.isArray(names) || !names.every((name) => typeof name === "string")) return undefined;
    views = new Map();
    for (const name of names as string[]) views.set(name, new Map(Object.entries(base)));
    for (const [index, positions] of Object.entries(own as Record<string, unknown>)) {
      const name = (names as string[])[Number(index)];
      if (name === undefined || !isStringMap(positions)) return undefined;
      const view = views.get(name) as Map<string, string>;
      for (const [resource, position] of Object.entries(positions)) view.set(resource, position);
    }
  }
  const cursor: Cursor = { namespace, family, views };
  if (at !== null) {
    if (!Array.isArray(at) || at.length !== 3 || !names) return undefined;
    const [view, resource, index] = at as unknown[];
    const name = typeof view === "number" ? (names as string[])[view] : undefined;
    if (name === undefined || typeof resource !== "string" || typeof index !== "number" || !Number.isInteger(index)) return undefined;
    cursor.at = { view: name, resource, index };
  }
  if (digests !== undefined) {
    if (!isStringMap(digests)) return undefined;
    cursor.digests = new Map(Object.entries(digests));
  }
  return cursor;
}

/** What a subscription says of where to resume: its `after` argument, and the request's Last-Event-ID header. */
export interface ResumeQuery {
  after?: string | null;
  lastEventId?: string | null;
}

/** Where a subscription asked to resume: the cursor as given, and decoded. */
export interface ResumePoint {
  text: string;
  cursor: Cursor;
}

/**
 * Where to resume from: a Last-Event-ID header (what an EventSource sends when it reconnects,
 * always the newest position the client holds) when it is a cursor, else the `after` argument. A
 * malformed `after` is the caller's mistake, BAD_USER_INPUT; a Last-Event-ID that is not a cursor
 * is ignored, never an error.
 */
export function resumePoint(after: string | null | undefined, lastEventId?: string | null): ResumePoint | undefined {
  let point: ResumePoint | undefined;
  if (after != null) {
    const cursor = decodeCursor(after);
    if (!cursor)
      throw new BadUserInputError("after is not a cursor kubesub issued: give back an event's cursor field, as it was received", "after");
    point = { text: after, cursor };
  }
  const header = lastEventId ? decodeCursor(lastEventId) : undefined;
  return header && lastEventId ? { text: lastEventId, cursor: header } : point;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}
