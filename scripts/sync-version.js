// One version for everything: the root package.json's. `npm version <x>` runs this to give
// create-valet the same version; create-valet's own prepack (scripts/create-valet-manifest.js)
// makes the packed create-valet depend on exactly that valet.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const path = join(root, 'packages/create-valet/package.json');
const manifest = JSON.parse(readFileSync(path, 'utf8'));
manifest.version = version;
writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
process.stderr.write(`create-valet is now ${version}\n`);
