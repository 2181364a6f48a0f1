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

interface Row<T> {
  value: T;
  element: HTMLTableRowElement;
}

/**
 * A table showing one collection of a LiveCollection (examples/client/live-collection.ts), one row
 * per object, sorted by key.
 *
 * show() makes the rows those of the collection it is given: rows of objects gone are removed, new
 * rows are added (and flash), rows whose object is another one are filled again (and the cells
 * named in its changedFields flash); rows whose object is the same are not touched. What a
 * re-subscription sends before InitialStateComplete is held back by the collection itself, so the
 * table goes from one complete state to the next.
 */
export class TableView<T> {
  readonly element: HTMLElement;
  private readonly options: TableViewOptions<T>;
  private readonly body: HTMLTableSectionElement;
  private readonly emptyNote: HTMLElement;
  private readonly rows = new Map<string, Row<T>>();
  /** Whether the collection has had its initial state: before that, "no rows" means "not known yet". */
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

  /**
   * Shows exactly these objects. changedFields: of an object just updated, the fields kubesub
   * named (their cells flash). loaded: whether the collection has had its initial state.
   */
  show(objects: Iterable<T>, loaded: boolean, changedFields: ReadonlyMap<T, readonly string[]> = new Map()): void {
    this.loaded = loaded;
    const keys = new Set<string>();
    for (const value of objects) {
      const key = this.options.key(value);
      keys.add(key);
      if (this.rows.get(key)?.value !== value) this.upsert(key, value, changedFields.get(value) ?? []);
    }
    for (const [key, row] of this.rows) {
      if (keys.has(key)) continue;
      row.element.remove();
      this.rows.delete(key);
    }
    this.updateEmpty();
  }

  private upsert(key: string, value: T, changedFields: readonly string[]): void {
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
