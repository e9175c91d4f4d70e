// Tables with their document counts; a table's documents a page at a time as a grid (columns from
// the schema, sortable by index, filtered with the filter builder, cells edited in place) or as
// JSON (newest first, or by one of its indexes, optionally equal to a value, or what its search
// index finds); insert, edit and delete through the engine's mutations (so clients' live queries
// update), checked against the schema; export as JSONL.
import { ApiError, get, request } from '../api.js';
import { errorBox, h, json, replace } from '../dom.js';
import type { Column } from './data-grid.js';
import { columnsOf, documentGrid } from './data-grid.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Table {
  name: string;
  documents: number;
  declared: boolean;
  indexes: { name: string; fields: string[] }[];
  searchIndexes: { name: string; searchField: string; filterFields: string[] }[];
  fields: { name: string; type: string; optional: boolean }[];
}

type Doc = Record<string, unknown> & { _id: string; _creationTime: number };

interface Condition {
  field: string;
  op: string;
  value: unknown;
}

const OPS: Record<string, string> = { eq: '=', neq: '≠', lt: '<', lte: '≤', gt: '>', gte: '≥' };

function fieldsOf(doc: Doc): Record<string, unknown> {
  const { _id, _creationTime, ...fields } = doc;
  return fields;
}

function tablePage(table: string): Page {
  const tables = h('div', { class: 'list' });
  const index = h('select', { 'aria-label': 'index' }, h('option', { value: '' }, 'newest first'));
  const equals = h('input', { 'aria-label': 'index value', placeholder: 'first field equals (JSON)' });
  // Shown when the table has a search index: a search takes the place of the index and value.
  const search = h('input', { 'aria-label': 'search', type: 'search', hidden: true });
  let searchIndex = '';
  const rows = h('div', { 'aria-label': 'documents' });
  const pager = h('div', { class: 'row' });
  const message = h('div');
  const insert = h('textarea', {
    'aria-label': 'new document',
    rows: 5,
    class: 'code',
    spellcheck: 'false',
    placeholder: '{ "field": "value" }',
  });
  const cursors: (string | null)[] = [null];
  let editing: string | null = null;
  let indexesShown = '';
  let view: 'grid' | 'json' = 'grid';
  let order: 'asc' | 'desc' = 'asc';
  let columns: Column[] = [];
  const conditions: Condition[] = [];
  const viewToggle = h('button', { type: 'button', class: 'secondary', 'aria-label': 'view' }, 'JSON view');
  viewToggle.addEventListener('click', () => {
    view = view === 'grid' ? 'json' : 'grid';
    viewToggle.textContent = view === 'grid' ? 'JSON view' : 'Grid view';
    void refresh();
  });
  // The filter builder: field, comparison, value (JSON, or plain text for a string).
  const filterField = h('input', {
    'aria-label': 'filter field',
    placeholder: 'field (a.b for nested)',
    list: 'grid-fields',
  });
  const fieldList = h('datalist', { id: 'grid-fields' });
  const filterOp = h(
    'select',
    { 'aria-label': 'filter comparison' },
    Object.entries(OPS).map(([op, sign]) => h('option', { value: op }, sign)),
  );
  const filterValue = h('input', { 'aria-label': 'filter value', placeholder: 'value' });
  const chips = h('div', { class: 'row chips', 'aria-label': 'filters' });
  const drawChips = () =>
    replace(
      chips,
      conditions.map((c, i) =>
        h(
          'span',
          { class: 'chip', 'data-testid': 'filter' },
          `${c.field} ${OPS[c.op]} ${JSON.stringify(c.value)} `,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'aria-label': `remove filter ${c.field}`,
              onclick: () => (conditions.splice(i, 1), drawChips(), cursors.splice(1), void refresh()),
            },
            '×',
          ),
        ),
      ),
    );
  const addFilter = (event: Event) => {
    event.preventDefault();
    const field = filterField.value.trim();
    if (!field) return;
    let value: unknown;
    try {
      value = JSON.parse(filterValue.value);
    } catch {
      value = filterValue.value;
    }
    conditions.push({ field, op: filterOp.value, value });
    filterField.value = '';
    filterValue.value = '';
    drawChips();
    cursors.splice(1);
    void refresh();
  };
  const filterForm = h(
    'form',
    { class: 'row filters', 'aria-label': 'filter builder', onsubmit: addFilter },
    filterField,
    fieldList,
    filterOp,
    filterValue,
    h('button', { type: 'submit', class: 'secondary' }, 'Add filter'),
  );

  /** One field of a document written through the engine (the whole document, schema-checked). */
  async function editField(doc: Doc, field: string, value: unknown): Promise<boolean> {
    const fields = fieldsOf(doc);
    if (value === undefined) delete fields[field];
    else fields[field] = value;
    const saved = await write('PUT', `admin/data/${table}/${doc._id}`, { document: fields });
    // Once the grid has closed the cell's editor (it does when this resolves true), redraw.
    if (saved) setTimeout(() => void refresh());
    return saved;
  }

  async function write(method: string, path: string, body?: unknown): Promise<boolean> {
    try {
      await request(path, { method, body });
      replace(message);
      return true;
    } catch (error) {
      replace(message, errorBox((error as ApiError).message));
      return false;
    }
  }

  async function removeDocument(doc: Doc) {
    if (!confirm(`Delete ${doc._id}?`)) return;
    if (await write('DELETE', `admin/data/${table}/${doc._id}`)) void refresh();
  }

  function row(doc: Doc): HTMLElement {
    if (editing === doc._id) {
      const editor = h('textarea', {
        'aria-label': `edit ${doc._id}`,
        rows: 8,
        class: 'code doc-editor',
        spellcheck: 'false',
      });
      editor.value = json(fieldsOf(doc));
      const save = async () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(editor.value);
        } catch (error) {
          replace(message, errorBox(`Invalid JSON: ${(error as Error).message}`));
          return;
        }
        if (await write('PUT', `admin/data/${table}/${doc._id}`, { document: parsed })) {
          editing = null;
          void refresh();
        }
      };
      return h(
        'div',
        { class: 'card doc', 'data-testid': 'document' },
        h('p', { class: 'code muted' }, doc._id),
        editor,
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', onclick: () => void save() }, 'Save'),
          h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => ((editing = null), replace(message), void refresh()) },
            'Cancel',
          ),
        ),
      );
    }
    const remove = () => removeDocument(doc);
    const edit = () => {
      editing = doc._id;
      // Live updates pause while the editor is open (they would redraw it).
      card.replaceWith(row(doc));
    };
    const card = h(
      'div',
      { class: 'card doc', 'data-testid': 'document' },
      h(
        'div',
        { class: 'row' },
        h('span', { class: 'code muted' }, doc._id),
        h('span', { class: 'muted' }, new Date(doc._creationTime).toLocaleString()),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'secondary', onclick: edit }, 'Edit'),
        h('button', { type: 'button', class: 'danger', onclick: () => void remove() }, 'Delete'),
      ),
      h('pre', { class: 'code' }, json(fieldsOf(doc))),
    );
    return card;
  }

  const refresh = serialized(async () => {
    try {
      const all = (await get<{ tables: Table[] }>('admin/data')).tables;
      replace(
        tables,
        h('h3', {}, 'Tables'),
        all.map((t) =>
          h(
            'a',
            { href: `#/data/${t.name}`, class: t.name === table ? 'item selected' : 'item' },
            t.name,
            ' ',
            h('span', { class: 'muted' }, String(t.documents)),
          ),
        ),
      );
      const info = all.find((t) => t.name === table);
      const names = info ? ['by_creation_time', ...info.indexes.map((i) => i.name)] : [];
      if (names.join() !== indexesShown) {
        indexesShown = names.join();
        replace(
          index,
          h('option', { value: '' }, 'newest first'),
          names.map((name) => h('option', { value: name }, name)),
        );
      }
      const firstSearch = info?.searchIndexes[0];
      search.hidden = !firstSearch;
      searchIndex = firstSearch?.name ?? '';
      if (firstSearch) search.setAttribute('placeholder', `search ${firstSearch.searchField} (${firstSearch.name})`);
      // Do not redraw under an open editor (a document's, or a grid cell's).
      if (rows.querySelector('.doc-editor, .cell-editor')) return;
      const params = new URLSearchParams({ limit: '25' });
      const cursor = cursors[cursors.length - 1];
      if (cursor) params.set('cursor', cursor);
      if (searchIndex && search.value.trim()) {
        params.set('search', search.value);
        params.set('searchIndex', searchIndex);
      } else if (index.value) {
        params.set('index', index.value);
        params.set('order', order);
        if (equals.value.trim()) params.set('eq', equals.value.trim());
      }
      if (conditions.length > 0) params.set('filter', JSON.stringify(conditions));
      const page = await get<{ documents: Doc[]; isDone: boolean; continueCursor: string }>(
        `admin/data/${table}?${params}`,
      );
      // A column sorts by the first index that starts with its field.
      const firstFields = new Map<string, string>();
      for (const i of info?.indexes ?? []) if (!firstFields.has(i.fields[0]!)) firstFields.set(i.fields[0]!, i.name);
      columns = info?.fields.length
        ? info.fields.map((f) => ({ name: f.name, type: f.type, index: firstFields.get(f.name) }))
        : columnsOf(page.documents);
      replace(
        fieldList,
        columns.map((c) => h('option', { value: c.name })),
      );
      replace(
        rows,
        page.documents.length === 0
          ? h('p', { class: 'muted' }, cursors.length > 1 ? 'No more documents.' : 'No documents.')
          : view === 'json'
            ? page.documents.map(row)
            : documentGrid(page.documents, {
                columns,
                sort: index.value ? { index: index.value, order } : null,
                onSort: (name) => {
                  order = index.value === name && order === 'asc' ? 'desc' : 'asc';
                  index.value = name;
                  cursors.splice(1);
                  void refresh();
                },
                onEdit: editField,
                onDelete: (doc) => void removeDocument(doc),
                onJson: (doc) => {
                  view = 'json';
                  viewToggle.textContent = 'Grid view';
                  editing = doc._id;
                  void refresh();
                },
              }),
      );
      replace(
        pager,
        cursors.length > 1 &&
          h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => (cursors.splice(1), void refresh()) },
            'First page',
          ),
        !page.isDone &&
          h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => (cursors.push(page.continueCursor), void refresh()) },
            'Next page',
          ),
      );
    } catch (error) {
      replace(rows, errorBox((error as Error).message));
    }
  });

  async function add(event: Event) {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(insert.value);
    } catch (error) {
      replace(message, errorBox(`Invalid JSON: ${(error as Error).message}`));
      return;
    }
    if (await write('POST', `admin/data/${table}`, { document: parsed })) {
      insert.value = '';
      void refresh();
    }
  }

  async function exportTable() {
    const response = await fetch(`/_dashboard/api/admin/data/${table}/export`, {
      headers: { 'x-valet-dashboard': '1' },
    });
    if (!response.ok) return replace(message, errorBox(`Export failed: ${response.status}`));
    const link = h('a', { href: URL.createObjectURL(await response.blob()), download: `${table}.jsonl` });
    link.click();
    URL.revokeObjectURL(link.href);
  }

  index.addEventListener('change', () => ((order = 'asc'), cursors.splice(1), void refresh()));
  equals.addEventListener('change', () => (cursors.splice(1), void refresh()));
  search.addEventListener('input', () => (cursors.splice(1), void refresh()));
  return {
    element: h(
      'div',
      { class: 'split' },
      tables,
      h(
        'div',
        { class: 'detail' },
        h(
          'div',
          { class: 'row' },
          h('h1', {}, table),
          h('span', { class: 'spacer' }),
          viewToggle,
          h('button', { type: 'button', class: 'secondary', onclick: () => void exportTable() }, 'Export JSONL'),
        ),
        h('div', { class: 'row filters' }, search, index, equals),
        filterForm,
        chips,
        message,
        h(
          'form',
          { class: 'card', onsubmit: add, 'aria-label': 'insert' },
          insert,
          h('button', { type: 'submit' }, 'Insert'),
        ),
        rows,
        pager,
      ),
    ),
    refresh: (topics) => (topics.includes('db') || topics.includes('state') ? refresh() : Promise.resolve()),
  };
}

export function data(params: string[]): Page {
  if (params[0]) return tablePage(params[0]);
  const list = h('div');
  const refresh = serialized(async () => {
    try {
      const all = (await get<{ tables: Table[] }>('admin/data')).tables;
      replace(
        list,
        all.length === 0
          ? h('p', { class: 'muted' }, 'No tables: declare them in valet/schema.ts.')
          : h(
              'table',
              {},
              h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', {}, 'Documents'), h('th', {}, 'Indexes'))),
              h(
                'tbody',
                {},
                all.map((t) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, h('a', { href: `#/data/${t.name}` }, t.name)),
                    h('td', {}, String(t.documents)),
                    h(
                      'td',
                      {},
                      [...t.indexes.map((i) => i.name), ...t.searchIndexes.map((i) => `${i.name} (search)`)].join(
                        ', ',
                      ) || '—',
                    ),
                  ),
                ),
              ),
            ),
      );
    } catch (error) {
      replace(list, errorBox((error as Error).message));
    }
  });
  return {
    element: h('div', {}, h('h1', {}, 'Data'), list),
    refresh: (topics) => (topics.includes('db') || topics.includes('state') ? refresh() : Promise.resolve()),
  };
}
