// A PostgreSQL database of its own for a benchmark run: created on the server the tests use
// (VALET_BENCH_DATABASE_URL, else VALET_TEST_DATABASE_URL, else the local server), dropped after.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export async function benchDatabase() {
  const admin =
    process.env.VALET_BENCH_DATABASE_URL ??
    process.env.VALET_TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `valet_bench_${randomBytes(5).toString('hex')}`;
  const run = async (sql) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
