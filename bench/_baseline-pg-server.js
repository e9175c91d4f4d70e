// The PostgreSQL baseline for bench/invoke: a minimal node:http server doing what Valet's query
// and mutation do, with the pg driver directly — the same table layout (jsonb documents, a partial
// expression index), the same statements, a mutation as one SERIALIZABLE transaction.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const [url, port] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 10 });
await pool.query(
  'CREATE TABLE IF NOT EXISTS bench_items (id text PRIMARY KEY, tbl text NOT NULL, creation_time double precision NOT NULL, doc jsonb NOT NULL)',
);
await pool.query(
  `CREATE INDEX IF NOT EXISTS bench_items_by_key ON bench_items ((NULLIF(doc -> 'key', 'null'::jsonb)) NULLS FIRST, creation_time, id) WHERE tbl = 'items'`,
);
if (Number((await pool.query('SELECT COUNT(*) AS n FROM bench_items')).rows[0].n) === 0) {
  for (let i = 0; i < 1000; i++) {
    await pool.query('INSERT INTO bench_items VALUES ($1, $2, $3, $4::jsonb)', [
      randomBytes(16).toString('hex'),
      'items',
      Date.now() + i / 1000,
      JSON.stringify({ key: `key-${i}`, n: i }),
    ]);
  }
}
await pool.query('ANALYZE bench_items');

const byKey = {
  name: 'by_key',
  text: `SELECT id, tbl, creation_time, doc::text AS doc FROM bench_items WHERE tbl = 'items' AND NULLIF(doc -> 'key', 'null'::jsonb) = $1::jsonb ORDER BY creation_time ASC, id ASC LIMIT 1`,
};
const insert = {
  name: 'insert',
  text: 'INSERT INTO bench_items (id, tbl, creation_time, doc) VALUES ($1, $2, $3, $4::jsonb)',
};

async function query(args) {
  const row = (await pool.query({ ...byKey, values: [JSON.stringify(args.key)] })).rows[0];
  return row ? { _id: row.id, _creationTime: row.creation_time, ...JSON.parse(row.doc) } : null;
}

async function mutation(args) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    const id = randomBytes(16).toString('hex');
    await client.query({ ...insert, values: [id, 'items', Date.now(), JSON.stringify(args)] });
    await client.query('COMMIT');
    return id;
  } finally {
    client.release();
  }
}

createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    const { args } = JSON.parse(body);
    const value = req.url === '/api/query' ? await query(args) : await mutation(args);
    const payload = JSON.stringify({ value });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
}).listen(Number(port), '127.0.0.1', () => process.stderr.write(`baseline ready on ${port}\n`));
