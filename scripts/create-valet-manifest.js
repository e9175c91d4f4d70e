// create-valet depends on valet. In this repository that is the checkout itself (`file:../..`, so
// the workspace installs and its tests run against the code here); a packed create-valet must
// instead depend on exactly the valet of its own version. npm runs this as create-valet's prepack
// (`published`) and postpack (`workspace`), so the tarball gets the version and the repository
// keeps the link.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const path = join(root, 'packages/create-valet/package.json');
const mode = process.argv[2];
if (mode !== 'published' && mode !== 'workspace') {
  process.stderr.write('usage: node scripts/create-valet-manifest.js published|workspace\n');
  process.exit(2);
}
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(path, 'utf8'));
if (manifest.version !== version) {
  process.stderr.write(
    `create-valet is ${manifest.version} but valet is ${version}: run node scripts/sync-version.js\n`,
  );
  process.exit(1);
}
manifest.dependencies = { ...manifest.dependencies, valet: mode === 'published' ? version : 'file:../..' };
writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
