// The baseline for bench/invoke: a minimal node:http server doing the same SQLite work as the
// benchmarked functions, with better-sqlite3 directly (same WAL / synchronous settings).
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const [file, port] = process.argv.slice(2);
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(
  'CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, key TEXT NOT NULL, n INTEGER NOT NULL, created REAL NOT NULL)',
);
db.exec('CREATE INDEX IF NOT EXISTS items_by_key ON items (key, created, id)');
const count = db.prepare('SELECT COUNT(*) AS n FROM items').get().n;
if (count === 0) {
  const insert = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 1000; i++) insert.run(randomBytes(16).toString('hex'), `key-${i}`, i, Date.now());
  })();
}
const byKey = db.prepare('SELECT id, key, n, created FROM items WHERE key = ? ORDER BY created, id LIMIT 1');
const insert = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?)');

createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const { args } = JSON.parse(body);
    let value;
    if (req.url === '/api/query') value = byKey.get(args.key) ?? null;
    else {
      const id = randomBytes(16).toString('hex');
      insert.run(id, args.key, args.n, Date.now());
      value = id;
    }
    const payload = JSON.stringify({ value });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
}).listen(Number(port), '127.0.0.1', () => process.stderr.write(`baseline ready on ${port}\n`));
