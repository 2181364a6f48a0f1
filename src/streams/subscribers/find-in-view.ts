import { ForbiddenError } from "../../errors.ts";
import type { StreamServices } from "../stream-services.ts";
import type { UnavailableSource } from "../views/view.ts";
import type { StreamAccess } from "./access.ts";
import { listView } from "./list-view.ts";
import type { Selection } from "./selection.ts";

/**
 * The one model of a shared view that `is` picks among those the selection matches, for node(id):
 * read as listView reads (the same authorization, sync wait and missing sources), and null when
 * there is none.
 *
 * Contract: the answer does not tell whether an object exists to a caller who may not read it. A
 * namespace the caller may not read answers null, as an object that does not exist does (not
 * FORBIDDEN, which would name a project whatever the id holds); so does an object the selection
 * leaves out (another user's, for a caller confined to its own). A namespace that does not exist
 * holds nothing: null. A source that cannot be read now is SOURCE_UNAVAILABLE, as for lists, and
 * only once the caller is authorized.
 */
export async function findInView<M>(
  services: StreamServices,
  access: StreamAccess,
  namespace: string,
  selection: Selection<M>,
  is: (model: M) => boolean,
  isRequired: (source: UnavailableSource) => boolean = () => true,
): Promise<M | null> {
  try {
    const models = await listView(
      services,
      access,
      namespace,
      selection,
      (source) => source.resource !== "namespaces" && isRequired(source),
    );
    return models.find(is) ?? null;
  } catch (error) {
    if (error instanceof ForbiddenError) return null;
    throw error;
  }
}
