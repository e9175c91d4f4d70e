// `.env` files in the app folder, read the way Vite reads them: `.env`, `.env.local`,
// `.env.<mode>`, `.env.<mode>.local`, later files winning; a variable already set in the real
// environment when the command started wins over all of them. Mode: `development` for valet dev
// and the CLI, `production` for valet start. `.env*.local` files are for secrets (git-ignored).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { UserError } from '../errors/user-error.js';

export type EnvMode = 'development' | 'production';

export function envFileNames(mode: EnvMode): string[] {
  return ['.env', '.env.local', `.env.${mode}`, `.env.${mode}.local`];
}

export interface EnvVariable {
  name: string;
  value: string;
  /** Where the value comes from: a file name, or `environment`. */
  source: string;
}

/** The variables the files define, in precedence order (later files win). */
export function readEnvFiles(appDir: string, mode: EnvMode): Map<string, { value: string; file: string }> {
  const found = new Map<string, { value: string; file: string }>();
  for (const name of envFileNames(mode)) {
    const path = join(appDir, name);
    if (!existsSync(path)) continue;
    let parsed: Record<string, string>;
    try {
      parsed = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
    } catch (error) {
      throw new UserError(`${name}: cannot be read: ${(error as Error).message}`, { location: { file: name } });
    }
    for (const [key, value] of Object.entries(parsed)) found.set(key, { value, file: name });
  }
  return found;
}

/**
 * Applies an app's .env files to `env` (process.env), and again after they change (valet dev):
 * variables the real environment had at the start are never overwritten, and a variable removed
 * from the files disappears.
 */
export class AppEnv {
  private readonly original: Set<string>;
  private applied = new Map<string, string>();

  constructor(
    private readonly appDir: string,
    private readonly mode: EnvMode,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.original = new Set(Object.keys(env));
  }

  /** The files this mode reads (to watch). */
  files(): string[] {
    return envFileNames(this.mode).map((name) => join(this.appDir, name));
  }

  /** Reads the files again; returns the names of the variables that changed (added, edited or removed). */
  apply(): string[] {
    const next = readEnvFiles(this.appDir, this.mode);
    const changed = new Set<string>();
    for (const key of this.applied.keys())
      if (!next.has(key) || this.original.has(key)) {
        delete this.env[key];
        changed.add(key);
      }
    const before = this.applied;
    this.applied = new Map();
    for (const [key, { value }] of next) {
      if (this.original.has(key)) continue;
      this.env[key] = value;
      this.applied.set(key, value);
      if (before.get(key) !== value) changed.add(key);
    }
    return [...changed].sort();
  }

  /** Every variable the app's functions see that an .env file or Valet concerns, with its source. */
  variables(all = false): EnvVariable[] {
    const files = readEnvFiles(this.appDir, this.mode);
    const names = new Set([
      ...files.keys(),
      ...Object.keys(this.env).filter((name) => all || name.startsWith('VALET_')),
    ]);
    return [...names].sort().map((name) => {
      const fromEnvironment = this.original.has(name) && this.env[name] !== undefined;
      return fromEnvironment
        ? { name, value: this.env[name]!, source: 'environment' }
        : {
            name,
            value: files.get(name)?.value ?? this.env[name] ?? '',
            source: files.get(name)?.file ?? 'environment',
          };
    });
  }
}
