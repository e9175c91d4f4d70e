// Stored files (ctx.storage): newest first with type, size and date; a preview of images and text
// in a sandboxed frame (the file's own answer is sandboxed too); upload, download and delete. A
// delete goes through a mutation, so clients' live queries follow; the list is live.
import { ApiError, get, request } from '../api.js';
import { errorBox, h, replace, tableRows } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface StoredFile {
  _id: string;
  _creationTime: number;
  contentType?: string;
  sha256: string;
  size: number;
  url: string;
}

/** A size for people, kept on one line (a no-break space before the unit). */
function bytes(size: number): string {
  if (size < 1024) return `${size}\u00a0B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)}\u00a0KiB`;
  return `${(size / 1024 / 1024).toFixed(1)}\u00a0MiB`;
}

/** Types the preview frame shows (images and text); anything else is only downloaded. */
const PREVIEWED = /^(image\/(png|jpeg|gif|webp|avif|bmp)|text\/(plain|csv)|application\/json)(;|$)/i;

export function files(): Page {
  const rows = h('tbody');
  const message = h('div');
  const preview = h('div', { 'aria-label': 'preview' });
  const picker = h('input', { type: 'file', 'aria-label': 'file to upload' });
  const summary = h('p', { class: 'muted' });

  async function upload(event: Event) {
    event.preventDefault();
    const file = picker.files?.[0];
    if (!file) return replace(message, errorBox('Pick a file first.'));
    try {
      const { url } = (await request<{ url: string }>('admin/files/upload-url', { method: 'POST', body: {} })).body;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': file.type || 'application/octet-stream' },
        body: file,
      });
      const answer = (await response.json()) as { storageId?: string; message?: string };
      if (!response.ok) throw new Error(answer.message ?? `the upload failed (${response.status})`);
      replace(message, h('p', { class: 'ok' }, `Stored ${file.name} as ${answer.storageId}.`));
      picker.value = '';
      void refresh();
    } catch (error) {
      replace(message, errorBox((error as Error).message));
    }
  }

  async function remove(file: StoredFile) {
    if (!confirm(`Delete ${file._id}? Its URLs stop working.`)) return;
    try {
      await request(`admin/files/${file._id}`, { method: 'DELETE' });
      replace(message, h('p', { class: 'ok' }, `Deleted ${file._id}.`));
      replace(preview);
      void refresh();
    } catch (error) {
      replace(message, errorBox((error as ApiError).message));
    }
  }

  function show(file: StoredFile) {
    replace(
      preview,
      h('h3', {}, file._id),
      PREVIEWED.test(file.contentType ?? '')
        ? h('iframe', {
            sandbox: '',
            src: file.url,
            title: `preview of ${file._id}`,
            class: 'mail-frame',
            referrerpolicy: 'no-referrer',
          })
        : h('p', { class: 'muted' }, `No preview for ${file.contentType ?? 'a file without a type'}: download it.`),
    );
  }

  const refresh = serialized(async () => {
    try {
      const {
        files: all,
        store,
        maxUploadBytes,
      } = await get<{
        files: StoredFile[];
        store: string;
        maxUploadBytes: number;
      }>('admin/files?limit=200');
      replace(summary, `Files are kept in ${store}; an upload may be up to ${bytes(maxUploadBytes)}.`);
      replace(
        rows,
        tableRows(all, 5, 'No files yet: ctx.storage.generateUploadUrl and ctx.storage.store put them here.', (file) =>
          h(
            'tr',
            { 'data-testid': 'file' },
            h('td', { class: 'code' }, file._id),
            h('td', {}, file.contentType ?? '—'),
            h('td', {}, bytes(file.size)),
            h('td', {}, new Date(file._creationTime).toLocaleString()),
            h(
              'td',
              { class: 'actions' },
              h('button', { type: 'button', class: 'secondary', onclick: () => show(file) }, 'Preview'),
              h('a', { href: file.url, download: file._id }, 'Download'),
              h('button', { type: 'button', class: 'danger', onclick: () => void remove(file) }, 'Delete'),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(message, errorBox((error as Error).message));
    }
  });

  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Files'),
      summary,
      h(
        'form',
        { class: 'card row', onsubmit: upload, 'aria-label': 'upload' },
        picker,
        h('button', { type: 'submit' }, 'Upload'),
      ),
      message,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Type'), h('th', {}, 'Size'), h('th', {}, 'Stored'), h('th', {})),
        ),
        rows,
      ),
      preview,
    ),
    refresh: (topics) => (topics.includes('db') || topics.includes('state') ? refresh() : Promise.resolve()),
  };
}
