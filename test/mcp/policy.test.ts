// Who may write through valet mcp: nobody without --allow-writes; against a PostgreSQL database
// (or a server on another machine) only with --allow-production-writes as well.
import { afterAll, expect, it } from 'vitest';
import { writeRefusal } from '../../src/mcp/policy.js';
import { AppTarget } from '../../src/mcp/target.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';

afterAll(removeTempDirs);

const flags = (allowWrites: boolean, allowProductionWrites = false) => ({
  allowWrites,
  allowProductionWrites,
  showEnvValues: false,
});

it('refuses writes unless allowed, and production writes unless allowed twice', async () => {
  const app = fixtureApp('engine-app', []);
  const local = new AppTarget(app, {});
  expect(await writeRefusal(local, flags(false), 'running mutation x')).toContain('--allow-writes');
  expect(await writeRefusal(local, flags(true), 'running mutation x')).toBeNull();

  const production = new AppTarget(app, { VALET_DATABASE_URL: 'postgres://app:hunter2-secret@db.internal:5432/app' });
  expect(await production.where()).toMatchObject({ mode: 'local', backend: 'postgres', production: true });
  const refusal = await writeRefusal(production, flags(true), 'running mutation x');
  expect(refusal).toContain('--allow-production-writes');
  // The database is named, its password never repeated back.
  expect(refusal).toContain('db.internal');
  expect(refusal).not.toContain('hunter2-secret');
  expect(await writeRefusal(production, flags(true, true), 'running mutation x')).toBeNull();
});
