#!/usr/bin/env node
// Tiny on purpose: everything lives in the built CLI.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/entry.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('valet is not built yet: run `npm run build` in the valet checkout.\n');
  process.exit(1);
}
await import(entry.href);
