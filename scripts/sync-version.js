// One version for everything: the root package.json's. `npm version <x>` runs this to give
// create-valet the same version (new apps it makes depend on `^` that version); `--check` (in
// create-valet's prepack) refuses to pack when the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const path = join(root, 'packages/create-valet/package.json');
const manifest = JSON.parse(readFileSync(path, 'utf8'));
if (process.argv.includes('--check')) {
  if (manifest.version !== version) {
    process.stderr.write(
      `create-valet is ${manifest.version} but valet is ${version}: run node scripts/sync-version.js\n`,
    );
    process.exit(1);
  }
} else {
  manifest.version = version;
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`create-valet is now ${version}\n`);
}
