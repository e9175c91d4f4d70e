// Tables with their document counts; a table's documents a page at a time (newest first, or by
// one of its indexes, optionally equal to a value, or what its search index finds); insert, edit
// and delete through the engine's
// mutations (so clients' live queries update), checked against the schema; export as JSONL.
import { ApiError, get, request } from '../api.js';
import { errorBox, h, json, replace } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Table {
  name: string;
  documents: number;
  declared: boolean;
  indexes: { name: string; fields: string[] }[];
  searchIndexes: { name: string; searchField: string; filterFields: string[] }[];
}

type Doc = Record<string, unknown> & { _id: string; _creationTime: number };

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

  function row(doc: Doc): HTMLElement {
    if (editing === doc._id) {
      const editor = h('textarea', { 'aria-label': `edit ${doc._id}`, rows: 8, class: 'code', spellcheck: 'false' });
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
    const remove = async () => {
      if (!confirm(`Delete ${doc._id}?`)) return;
      if (await write('DELETE', `admin/data/${table}/${doc._id}`)) void refresh();
    };
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
      if (editing) return; // do not redraw under the editor
      const params = new URLSearchParams({ limit: '25' });
      const cursor = cursors[cursors.length - 1];
      if (cursor) params.set('cursor', cursor);
      if (searchIndex && search.value.trim()) {
        params.set('search', search.value);
        params.set('searchIndex', searchIndex);
      } else if (index.value) {
        params.set('index', index.value);
        params.set('order', 'asc');
        if (equals.value.trim()) params.set('eq', equals.value.trim());
      }
      const page = await get<{ documents: Doc[]; isDone: boolean; continueCursor: string }>(
        `admin/data/${table}?${params}`,
      );
      replace(
        rows,
        page.documents.length === 0
          ? h('p', { class: 'muted' }, cursors.length > 1 ? 'No more documents.' : 'No documents.')
          : page.documents.map(row),
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

  for (const input of [index, equals]) input.addEventListener('change', () => (cursors.splice(1), void refresh()));
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
          h('button', { type: 'button', class: 'secondary', onclick: () => void exportTable() }, 'Export JSONL'),
        ),
        h('div', { class: 'row filters' }, search, index, equals),
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
