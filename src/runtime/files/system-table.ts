// `_storage`, as Convex's ctx.db.system shows it: one document per stored file, read from
// _valet_files, live like any table (every write to a file row notes a change of `_storage`).
import type { DocumentStore, StoredDocument } from '../../storage/documents.js';
import type { SystemSource } from '../system-tables.js';
import type { FileRow } from './store.js';
import { findFile, listFiles } from './store.js';

export const STORAGE_TABLE = '_storage';

/** Live queries over `_storage` (and getUrl of this id) hear about this file when the write commits. */
export function noteFileChange(store: DocumentStore, id: string): void {
  store.changeLog?.push({ table: STORAGE_TABLE, id, before: null, after: { _id: id, _creationTime: 0 } });
}

export function fileDocument(row: FileRow): StoredDocument {
  const doc: StoredDocument = { _id: row.id, _creationTime: row.created_at, sha256: row.sha256, size: row.size };
  if (row.content_type !== null) doc.contentType = row.content_type;
  return doc;
}

export const storedFiles: SystemSource = {
  table: STORAGE_TABLE,
  async get(sql, id) {
    const row = await findFile(sql, id);
    return row ? fileDocument(row) : null;
  },
  async list(sql, descending, limit) {
    return (await listFiles(sql, { descending, limit })).map(fileDocument);
  },
};
