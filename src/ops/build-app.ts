// `valet build`: a folder that serves the app on a machine with only Node and a production
// install — the functions bundled (app.cjs, checked by loading it here), Valet's runtime bundled
// (server.mjs), a package.json with only the packages that cannot be bundled (better-sqlite3's
// native addon, pg) and a lockfile pinning what was installed here. No esbuild, TypeScript or oxc
// at run time.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { createAppBuilder } from '../bundler/build.js';
import { evaluateBundle } from '../bundler/evaluate.js';
import { BUILD_BUNDLE, BUILD_MANIFEST } from '../bundler/prebuilt.js';
import type { BuildManifest } from '../bundler/prebuilt.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { runCodegen } from '../codegen/index.js';
import { UserError } from '../errors/user-error.js';
import { PACKAGE_ROOT, packageJson } from '../project/package-info.js';
import { buildRegistry } from '../runtime/registry.js';
import { lockfileFor, lockfilesAbove } from './build-lockfile.js';

/**
 * What server.mjs loads from node_modules: native, or with optional natives esbuild cannot bundle.
 * pg and the S3 SDK only when the app installed them (optional peers: a SQLite app has neither).
 */
const OPTIONAL_PEERS = ['pg', '@aws-sdk/client-s3', '@aws-sdk/lib-storage'];
const RUNTIME_PACKAGES = ['better-sqlite3', ...OPTIONAL_PEERS];

/** The range to install a runtime package by: valet's own for better-sqlite3, the installed one's for the optional peers. */
function runtimeDependencies(valet: ReturnType<typeof packageJson>): Record<string, string> {
  const dependencies: Record<string, string> = { 'better-sqlite3': valet.dependencies!['better-sqlite3']! };
  // Resolved as Valet resolves them at run time: from the valet package's own location.
  const require = createRequire(join(PACKAGE_ROOT, 'package.json'));
  for (const name of OPTIONAL_PEERS) {
    try {
      const installed = require(require.resolve(`${name}/package.json`)) as { version: string };
      dependencies[name] = `^${installed.version}`;
    } catch {
      // Not installed: the build serves without it (SQLite, files in a folder or the database).
    }
  }
  return dependencies;
}
/** Never needed at run time (only reachable from code a build folder does not run). commander is bundled: server.mjs parses its flags with it. */
const NOT_AT_RUNTIME = [
  'esbuild',
  'typescript',
  'oxc-parser',
  'chokidar',
  'prompts',
  'pg-native',
  'bufferutil',
  'utf-8-validate',
];

export interface BuildResult {
  outDir: string;
  functions: number;
  /** Whether a package-lock.json was written (else the folder installs with npm install). */
  locked: boolean;
  /** Whether it can serve PostgreSQL (the app has the pg driver installed). */
  postgres: boolean;
}

function prepareOutDir(outDir: string, appDir: string): void {
  if (resolve(outDir) === resolve(appDir) || resolve(appDir).startsWith(`${resolve(outDir)}/`))
    throw new UserError(`--out ${outDir} would overwrite the app itself: choose another folder`);
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    if (!existsSync(join(outDir, BUILD_MANIFEST)))
      throw new UserError(`${outDir} exists and is not a previous Valet build: choose an empty or new folder`);
    // A previous build: replaced, but the server's own state (.valet/, node_modules) is kept.
    for (const name of [BUILD_BUNDLE, BUILD_MANIFEST, 'server.mjs', 'package.json', 'package-lock.json'])
      rmSync(join(outDir, name), { force: true });
  }
  mkdirSync(outDir, { recursive: true });
}

async function bundleServer(outFile: string): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(PACKAGE_ROOT, 'dist', 'serve', 'built-main.js')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...RUNTIME_PACKAGES, ...NOT_AT_RUNTIME],
    // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __valetCreateRequire } from 'node:module';\nconst require = __valetCreateRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'silent',
  });
}

export async function buildApp(appDir: string, outDir: string): Promise<BuildResult> {
  prepareOutDir(outDir, appDir);
  runCodegen(appDir);
  const builder = createAppBuilder(appDir);
  let code: string;
  let modules: Record<string, string>;
  try {
    const bundle = await builder.build();
    code = bundle.code;
    modules = Object.fromEntries(bundle.moduleFiles);
  } finally {
    await builder.dispose();
  }
  // Loaded once here: a module that throws at import time fails the build, not the deploy.
  const registry = buildRegistry(
    evaluateBundle({ code, moduleFiles: new Map(Object.entries(modules)), inputs: [] }, appDir, new BundleMaps(appDir)),
  );
  const valet = packageJson();
  const manifest: BuildManifest = {
    valet: valet.version,
    builtAt: new Date().toISOString(),
    functions: [...registry.functions.keys()].sort(),
    modules,
  };
  writeFileSync(join(outDir, BUILD_BUNDLE), code);
  writeFileSync(join(outDir, BUILD_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await bundleServer(join(outDir, 'server.mjs'));

  const appManifest = existsSync(join(appDir, 'package.json'))
    ? (JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { name?: string })
    : {};
  const name = `${(appManifest.name ?? basename(resolve(appDir))).replace(/^@[^/]+\//, '')}-server`;
  const dependencies = runtimeDependencies(valet);
  const pkg = {
    name,
    version: '1.0.0',
    private: true,
    type: 'module',
    description: `The ${appManifest.name ?? 'app'} Valet server, built by valet build ${valet.version}`,
    engines: { node: '>=20' },
    scripts: { start: 'node server.mjs' },
    dependencies,
    // npm (11.16+) asks for every install script to be reviewed: better-sqlite3's builds its addon.
    allowScripts: { 'better-sqlite3': true },
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const lock = lockfileFor(
    name,
    dependencies,
    [...lockfilesAbove(appDir), join(PACKAGE_ROOT, 'package-lock.json')].filter(existsSync),
  );
  if (lock) writeFileSync(join(outDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  return {
    outDir: relative(process.cwd(), outDir) || '.',
    functions: manifest.functions.length,
    locked: lock !== null,
    postgres: 'pg' in dependencies,
  };
}
