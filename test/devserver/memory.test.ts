// Old code must be collectable: evaluating many builds in a row (what hundreds of dev reloads
// do) must not keep the previous bundles alive.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { createAppBuilder } from '../../src/bundler/build.js';
import { evaluateBundle } from '../../src/bundler/evaluate.js';
import { BundleMaps } from '../../src/bundler/stack-map.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';
import { runCodegen } from '../../src/codegen/index.js';

afterAll(removeTempDirs);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

it('frees replaced bundles: 150 evaluations leave the heap where 10 left it', async () => {
  const app = fixtureApp('engine-app', []);
  runCodegen(app);
  const builder = createAppBuilder(app);
  const bundle = await builder.build();
  await builder.dispose();
  const maps = new BundleMaps(app);
  let modules: unknown;
  const evaluate = (i: number) => {
    // A distinct source each time, as every real reload has.
    modules = evaluateBundle({ ...bundle, code: `${bundle.code}\n// reload ${i}\n` }, app, maps);
  };
  for (let i = 0; i < 10; i++) evaluate(i);
  const before = heapAfterGc();
  for (let i = 10; i < 160; i++) evaluate(i);
  const after = heapAfterGc();
  expect(modules).toHaveProperty('users');
  // A leak keeps each bundle (~100 KB of compiled code here): 150 of them would add over 10 MB.
  expect((after - before) / 1024 / 1024).toBeLessThan(5);
});
