// A table's documents as a grid: a column per field of the schema (nested values folded, one
// click to unfold), headers that sort by the index starting with that field, and cells edited in
// place — each edit writes the whole document through the engine, checked against the schema.
import { h } from '../dom.js';

export type Doc = Record<string, unknown> & { _id: string; _creationTime: number };

export interface Column {
  name: string;
  type: string;
  /** The index whose first field this is (sortable by it), `by_creation_time` for _creationTime. */
  index?: string;
}

export interface GridOptions {
  columns: Column[];
  sort: { index: string; order: 'asc' | 'desc' } | null;
  onSort(index: string): void;
  /** Writes one field of a document (undefined removes it); resolves false when refused. */
  onEdit(doc: Doc, field: string, value: unknown): Promise<boolean>;
  onDelete(doc: Doc): void;
  onJson(doc: Doc): void;
}

function isNested(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function folded(value: object): HTMLElement {
  const summary = Array.isArray(value)
    ? `[${value.length} item${value.length === 1 ? '' : 's'}]`
    : `{${Object.keys(value).length} field${Object.keys(value).length === 1 ? '' : 's'}}`;
  return h(
    'details',
    { class: 'folded' },
    h('summary', {}, summary),
    h('pre', { class: 'code' }, JSON.stringify(value, null, 2)),
  );
}

function display(value: unknown): HTMLElement | string {
  if (value === undefined) return h('span', { class: 'muted' }, '—');
  if (isNested(value)) return folded(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What the editor shows: strings as typed, anything else as JSON. */
function editText(value: unknown, type: string): string {
  if (value === undefined) return '';
  return typeof value === 'string' && type.includes('string') ? value : JSON.stringify(value);
}

/** Back from the editor: JSON when it parses (and the field is not plain text), else the text itself. */
function parseEdit(text: string, type: string): unknown {
  if (text === '') return undefined;
  if (type === 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function cell(doc: Doc, column: Column, options: GridOptions): HTMLElement {
  const value =
    column.name === '_id' ? doc._id : column.name === '_creationTime' ? doc._creationTime : doc[column.name];
  const td = h(
    'td',
    { 'data-field': column.name, title: column.name.startsWith('_') ? undefined : 'double-click to edit' },
    column.name === '_creationTime' ? new Date(doc._creationTime).toLocaleString() : display(value),
  );
  if (column.name.startsWith('_')) return td;
  td.addEventListener('dblclick', () => {
    if (td.querySelector('input')) return;
    const input = h('input', {
      'aria-label': `edit ${column.name} of ${doc._id}`,
      value: editText(value, column.type),
      class: 'cell-editor',
    });
    const cancel = () => td.replaceWith(cell(doc, column, options));
    input.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Escape') cancel();
      if (event.key !== 'Enter') return;
      input.disabled = true;
      const next = parseEdit(input.value, column.type);
      void options.onEdit(doc, column.name, next).then((saved) => {
        input.disabled = false;
        if (saved) td.replaceChildren(display(next));
        else input.focus();
      });
    });
    td.replaceChildren(input);
    input.focus();
    input.select();
  });
  return td;
}

export function documentGrid(docs: Doc[], options: GridOptions): HTMLElement {
  const columns = [
    { name: '_id', type: 'id' },
    ...options.columns,
    { name: '_creationTime', type: 'number', index: 'by_creation_time' },
  ];
  const header = columns.map((column) => {
    const sorted = options.sort && column.index === options.sort.index ? options.sort.order : null;
    return h(
      'th',
      { 'aria-sort': sorted ? (sorted === 'asc' ? 'ascending' : 'descending') : undefined, title: column.type },
      column.index
        ? h(
            'button',
            {
              type: 'button',
              class: 'sort',
              onclick: () => options.onSort(column.index!),
              title: `sort by index ${column.index}`,
            },
            column.name,
            sorted ? (sorted === 'asc' ? ' ▲' : ' ▼') : ' ↕',
          )
        : column.name,
    );
  });
  return h(
    'div',
    { class: 'grid-scroll' },
    h(
      'table',
      { class: 'grid', 'aria-label': 'documents grid' },
      h('thead', {}, h('tr', {}, header, h('th', {}, ''))),
      h(
        'tbody',
        {},
        docs.map((doc) =>
          h(
            'tr',
            { 'data-testid': 'document-row', 'data-id': doc._id },
            columns.map((column) => cell(doc, column, options)),
            h(
              'td',
              { class: 'actions' },
              h('button', { type: 'button', class: 'secondary', onclick: () => options.onJson(doc) }, 'JSON'),
              h('button', { type: 'button', class: 'danger', onclick: () => options.onDelete(doc) }, 'Delete'),
            ),
          ),
        ),
      ),
    ),
  );
}

/** Columns for a table without a schema: every field the page's documents have. */
export function columnsOf(docs: Doc[]): Column[] {
  const names = new Set<string>();
  for (const doc of docs) for (const name of Object.keys(doc)) if (!name.startsWith('_')) names.add(name);
  return [...names].map((name) => ({ name, type: 'any' }));
}
