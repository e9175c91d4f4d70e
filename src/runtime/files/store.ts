// The rows that say what each stored file is (_valet_files) and which upload URLs were given out
// and used (_valet_file_uploads). The bytes are elsewhere (storage/files/blobs.ts); a file exists
// for callers exactly when its row does, so deleting the row is what deletes the file.
import type { SqlExecutor } from '../../storage/sql.js';

export interface FileRow {
  id: string;
  created_at: number;
  content_type: string | null;
  sha256: string;
  size: number;
  location: string;
}

const COLUMNS = 'id, created_at, content_type, sha256, size, location';

/** Numbers as numbers (PostgreSQL's bigint arrives as text). */
function normalized(row: FileRow | undefined): FileRow | null {
  return row ? { ...row, created_at: Number(row.created_at), size: Number(row.size) } : null;
}

export async function findFile(sql: SqlExecutor, id: string): Promise<FileRow | null> {
  return normalized(await sql.get<FileRow>(`SELECT ${COLUMNS} FROM _valet_files WHERE id = ?`, [id]));
}

export async function listFiles(
  sql: SqlExecutor,
  options: { descending?: boolean; limit?: number } = {},
): Promise<FileRow[]> {
  const direction = options.descending ? 'DESC' : 'ASC';
  const bounded = options.limit !== undefined && Number.isFinite(options.limit);
  const rows = await sql.all<FileRow>(
    `SELECT ${COLUMNS} FROM _valet_files ORDER BY created_at ${direction}, id ${direction}${bounded ? ' LIMIT ?' : ''}`,
    bounded ? [options.limit] : [],
  );
  return rows.map((row) => normalized(row)!);
}

export async function insertFile(sql: SqlExecutor, row: FileRow): Promise<void> {
  await sql.run(
    'INSERT INTO _valet_files (id, created_at, content_type, sha256, size, location) VALUES (?, ?, ?, ?, ?, ?)',
    [row.id, row.created_at, row.content_type, row.sha256, row.size, row.location],
  );
}

/** Deletes the file's row (and its bytes, when they are chunks in this database): false if there was none. */
export async function deleteFile(sql: SqlExecutor, id: string): Promise<boolean> {
  const row = await findFile(sql, id);
  if (!row) return false;
  await sql.run('DELETE FROM _valet_files WHERE id = ?', [id]);
  if (row.location === 'postgres') await sql.run('DELETE FROM _valet_file_chunks WHERE blob_id = ?', [id]);
  return true;
}

/** Every file's row (and its chunks, when they are in this database): `valet import --replace`. */
export async function deleteAllFiles(sql: SqlExecutor): Promise<void> {
  const inDatabase = await sql.get("SELECT 1 AS found FROM _valet_files WHERE location = 'postgres' LIMIT 1");
  await sql.run('DELETE FROM _valet_files');
  if (inDatabase || sql.dialect.name === 'postgres') await sql.run('DELETE FROM _valet_file_chunks');
}

/** Of these ids, those that name a stored file. */
export async function knownFileIds(sql: SqlExecutor, ids: string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const batch = ids.slice(i, i + 500);
    if (batch.length === 0) continue;
    const rows = await sql.all<{ id: string }>(
      `SELECT id FROM _valet_files WHERE id IN (${batch.map(() => '?').join(', ')})`,
      batch,
    );
    for (const row of rows) known.add(row.id);
  }
  return known;
}

export async function createUpload(sql: SqlExecutor, id: string, expiresAt: number): Promise<void> {
  await sql.run('INSERT INTO _valet_file_uploads (id, expires_at, file_id) VALUES (?, ?, NULL)', [id, expiresAt]);
}

export type UploadClaim = 'claimed' | 'unknown' | 'expired' | 'used';

/** Marks an upload URL used by `fileId`, once, before it expires (inside the caller's transaction). */
export async function claimUpload(sql: SqlExecutor, id: string, fileId: string, now: number): Promise<UploadClaim> {
  const { changes } = await sql.run(
    'UPDATE _valet_file_uploads SET file_id = ? WHERE id = ? AND file_id IS NULL AND expires_at > ?',
    [fileId, id, now],
  );
  if (changes === 1) return 'claimed';
  const row = await sql.get<{ file_id: string | null }>('SELECT file_id FROM _valet_file_uploads WHERE id = ?', [id]);
  return !row ? 'unknown' : row.file_id !== null ? 'used' : 'expired';
}

/** Upload URLs that expired before `before`, used or not: nothing can use them any more. */
export async function pruneUploads(sql: SqlExecutor, before: number): Promise<void> {
  await sql.run('DELETE FROM _valet_file_uploads WHERE expires_at < ?', [before]);
}
