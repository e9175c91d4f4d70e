// Module analyses kept between runs in the app's .valet/ (where valet dev and valet start keep
// their state): `valet codegen`, `valet check` and a starting `valet dev` parse only the modules
// whose text changed since the last run. Parsing is most of codegen's time (with oxc on Node 20,
// the AST crosses into JavaScript as JSON). An analysis depends on nothing but the module's path
// and text, so each is keyed by its path and the SHA-1 of its text; the whole cache is set aside
// when the analyser itself changes (another Valet version, or a rebuilt checkout). An app that
// has no .valet/ yet gets none from codegen: the cache only rides along where state already is.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stateDirOf } from '../project/paths.js';
import type { ModuleAnalysis, ReExport } from './analyse-module.js';

const CACHE_FILE = 'codegen-cache.json';

/** What identifies the analyser: its own file's size and time (built, or the source under tests). */
function analyserKey(): string {
  for (const name of ['./analyse-module.js', './analyse-module.ts']) {
    try {
      const { size, mtimeMs } = statSync(fileURLToPath(new URL(name, import.meta.url)));
      return `${size}:${mtimeMs}`;
    } catch {
      // Not this one.
    }
  }
  return '';
}

/** An analysis as JSON holds it: a re-export's names (a Map) as pairs. */
type StoredAnalysis = Omit<ModuleAnalysis, 'reExports'> & {
  reExports: (Omit<ReExport, 'names'> & { names: [string, string][] | null })[];
};

interface CacheFile {
  analyser: string;
  modules: Record<string, { sha1: string; analysis: StoredAnalysis }>;
}

const stored = (analysis: ModuleAnalysis): StoredAnalysis => ({
  ...analysis,
  reExports: analysis.reExports.map((r) => ({ ...r, names: r.names ? [...r.names] : null })),
});

const restored = (analysis: StoredAnalysis): ModuleAnalysis => ({
  ...analysis,
  reExports: analysis.reExports.map((r) => ({ ...r, names: r.names ? new Map(r.names) : null })),
});

export class AnalysisCache {
  private changed = false;

  private constructor(
    private readonly path: string | null,
    private readonly analyser: string,
    private readonly modules: CacheFile['modules'],
  ) {}

  /** The app's cache (empty when absent, unreadable or made by another analyser); inert without .valet/. */
  static open(appDir: string): AnalysisCache {
    const stateDir = stateDirOf(appDir);
    const analyser = analyserKey();
    if (!analyser || !existsSync(stateDir)) return new AnalysisCache(null, analyser, {});
    const path = join(stateDir, CACHE_FILE);
    try {
      const stored = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
      if (stored.analyser === analyser && stored.modules && typeof stored.modules === 'object')
        return new AnalysisCache(path, analyser, stored.modules);
    } catch {
      // Absent, or damaged (an interrupted write, an edit): started afresh.
    }
    return new AnalysisCache(path, analyser, {});
  }

  private static digest(text: string): string {
    return createHash('sha1').update(text).digest('base64');
  }

  /** The stored analysis of this exact text of `file`, or null. */
  get(file: string, text: string): ModuleAnalysis | null {
    if (!this.path) return null;
    const entry = this.modules[file];
    return entry && entry.sha1 === AnalysisCache.digest(text) ? restored(entry.analysis) : null;
  }

  set(file: string, text: string, analysis: ModuleAnalysis): void {
    if (!this.path) return;
    this.modules[file] = { sha1: AnalysisCache.digest(text), analysis: stored(analysis) };
    this.changed = true;
  }

  /** Writes it back when it changed, keeping only `files` (modules deleted since are dropped). */
  save(files: Iterable<string>): void {
    if (!this.path) return;
    const keep = new Set(files);
    for (const file of Object.keys(this.modules)) {
      if (keep.has(file)) continue;
      delete this.modules[file];
      this.changed = true;
    }
    if (!this.changed) return;
    const content: CacheFile = { analyser: this.analyser, modules: this.modules };
    // Written whole and renamed into place: a concurrent run reads the old cache or the new one.
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(content));
      renameSync(temporary, this.path);
      this.changed = false;
    } catch {
      // A read-only checkout, a full disk: the cache is an optimisation, never a failure.
    }
  }
}
