/** One column: its header, the field name kubesub reports in changedFields, and how a cell shows. */
export interface Column<T> {
  header: string;
  /** Set as data-field on each cell; cells whose field is in an update's changedFields flash. */
  field: string;
  /** Other changedFields names that change this cell (a pod's READY cell shows containers too). */
  alsoChangedBy?: string[];
  cell: (value: T) => string | Node;
}

export interface TableViewOptions<T> {
  /** A heading above the table, where a panel has more than one. */
  title?: string;
  /** data-testid of the table's section; rows get `${rowTestIdPrefix}-${key}`. */
  testId: string;
  rowTestIdPrefix: string;
  columns: Column<T>[];
  key: (value: T) => string;
  /** Shown when the table has no rows. */
  empty: string;
}

type StagedChange<T> = { upsert: T; changedFields: string[] } | { remove: string };

interface Row<T> {
  value: T;
  element: HTMLTableRowElement;
}

/**
 * A table of objects kept in step with a stream, one row per key, sorted by key.
 *
 * What each (re)subscription sends before InitialStateComplete is staged between beginSnapshot()
 * and commitSnapshot(resumed), and shown in one step. It is either a fresh snapshot (resumed false:
 * it replaces the rows; rows whose object is gone disappear, the others update in place) or, when
 * the subscription resumed from its last cursor, the changes missed meanwhile (resumed true: they
 * are applied to the rows as they are, and their cells flash). Which of the two is known only at
 * InitialStateComplete, so the staged events are kept in order until then.
 */
export class TableView<T> {
  readonly element: HTMLElement;
  private readonly options: TableViewOptions<T>;
  private readonly body: HTMLTableSectionElement;
  private readonly emptyNote: HTMLElement;
  private readonly rows = new Map<string, Row<T>>();
  private staged: StagedChange<T>[] | undefined;
  /** Whether a snapshot has been committed: before that, "no rows" means "not known yet". */
  private loaded = false;

  constructor(options: TableViewOptions<T>) {
    this.options = options;
    this.element = document.createElement("section");
    this.element.className = "table";
    this.element.dataset.testid = options.testId;
    if (options.title) {
      const title = document.createElement("h3");
      title.textContent = options.title;
      this.element.append(title);
    }
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const column of options.columns) {
      const th = document.createElement("th");
      th.textContent = column.header;
      head.append(th);
    }
    this.body = table.createTBody();
    this.emptyNote = document.createElement("p");
    this.emptyNote.className = "empty";
    this.emptyNote.textContent = options.empty;
    this.element.append(table, this.emptyNote);
    this.updateEmpty();
  }

  beginSnapshot(): void {
    this.staged = [];
  }

  /** Shows what was staged: a snapshot that replaces the rows, or (resumed) changes to them. */
  commitSnapshot(resumed = false): void {
    const staged = this.staged;
    if (!staged) return;
    this.staged = undefined;
    this.loaded = true;
    if (resumed) {
      for (const change of staged) {
        if ("remove" in change) this.remove(change.remove);
        else this.upsert(change.upsert, change.changedFields);
      }
    } else {
      const snapshot = new Map<string, T>();
      for (const change of staged) {
        if ("remove" in change) snapshot.delete(change.remove);
        else snapshot.set(this.options.key(change.upsert), change.upsert);
      }
      for (const key of [...this.rows.keys()]) if (!snapshot.has(key)) this.remove(key);
      for (const value of snapshot.values()) this.upsert(value);
    }
    this.updateEmpty();
  }

  /** Adds or replaces the row of value's key; cells named in changedFields flash. */
  upsert(value: T, changedFields: string[] = []): void {
    const key = this.options.key(value);
    if (this.staged) {
      this.staged.push({ upsert: value, changedFields });
      return;
    }
    const existing = this.rows.get(key);
    if (existing) {
      existing.value = value;
      this.fill(existing.element, value, new Set(changedFields));
      return;
    }
    const element = document.createElement("tr");
    element.dataset.testid = `${this.options.rowTestIdPrefix}-${key}`;
    element.dataset.key = key;
    this.fill(element, value, new Set());
    const before = [...this.rows.keys()].sort().find((other) => other > key);
    this.body.insertBefore(element, before === undefined ? null : (this.rows.get(before)?.element ?? null));
    this.rows.set(key, { value, element });
    flash(element);
    this.updateEmpty();
  }

  remove(key: string): void {
    if (this.staged) {
      this.staged.push({ remove: key });
      return;
    }
    this.rows.get(key)?.element.remove();
    this.rows.delete(key);
    this.updateEmpty();
  }

  private fill(element: HTMLTableRowElement, value: T, changed: Set<string>): void {
    element.replaceChildren(
      ...this.options.columns.map((column) => {
        const td = document.createElement("td");
        td.dataset.field = column.field;
        td.append(column.cell(value));
        if (changed.has(column.field) || column.alsoChangedBy?.some((field) => changed.has(field))) flash(td);
        return td;
      }),
    );
  }

  private updateEmpty(): void {
    this.emptyNote.hidden = this.rows.size > 0;
    this.emptyNote.textContent = this.loaded ? this.options.empty : "Waiting for the initial state…";
  }
}

/** Restarts the highlight animation on an element that just changed. */
function flash(element: HTMLElement): void {
  element.classList.remove("changed");
  void element.offsetWidth;
  element.classList.add("changed");
}
