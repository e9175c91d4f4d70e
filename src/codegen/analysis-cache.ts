// What codegen and the static rules of `valet check` read from each module, kept between runs in
// the app's .valet/ (where valet dev and valet start keep their state): `valet codegen`, `valet
// check` and a starting `valet dev` parse only the modules whose text changed since the last run.
// Parsing is most of what either costs (with oxc on Node 20, the AST crosses into JavaScript as
// JSON). Both depend on nothing but the module's path and text, so each is keyed by its path and
// the SHA-1 of its text; the whole cache is set aside when the code that reads modules changes
// (another Valet version, or a rebuilt checkout). An app that has no .valet/ yet gets none: the
// cache only rides along where state already is.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { codegenCachePathOf, stateDirOf } from '../project/paths.js';
import type { ModuleAnalysis, ReExport } from './analyse-module.js';

/** The code whose output is cached: the module analyser and the static rules. */
const READERS = ['./analyse-module', '../check/static-rules', '../check/rules/index'];

/** What identifies the readers: their files' sizes and times (built, or the sources under tests). */
function analyserKey(): string {
  const parts: string[] = [];
  for (const reader of READERS) {
    const found = ['.js', '.ts'].some((extension) => {
      try {
        const { size, mtimeMs } = statSync(fileURLToPath(new URL(reader + extension, import.meta.url)));
        parts.push(`${size}:${mtimeMs}`);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) return '';
  }
  return parts.join(',');
}

/** An analysis as JSON holds it: a re-export's names (a Map) as pairs. */
type StoredAnalysis = Omit<ModuleAnalysis, 'reExports'> & {
  reExports: (Omit<ReExport, 'names'> & { names: [string, string][] | null })[];
};

/** One module's entry: codegen's analysis and the static rules' findings, each once computed. */
interface Entry {
  sha1: string;
  analysis?: StoredAnalysis;
  findings?: unknown[];
}

interface CacheFile {
  analyser: string;
  modules: Record<string, Entry>;
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

  private static readonly opened = new Map<string, AnalysisCache>();

  /** The app's cache, read once per process (codegen and the rules of one check share it). */
  static for(appDir: string): AnalysisCache {
    let cache = AnalysisCache.opened.get(appDir);
    if (!cache) AnalysisCache.opened.set(appDir, (cache = AnalysisCache.open(appDir)));
    return cache;
  }

  /** The app's cache (empty when absent, unreadable or made by other readers); inert without .valet/. */
  private static open(appDir: string): AnalysisCache {
    const stateDir = stateDirOf(appDir);
    const analyser = analyserKey();
    if (!analyser || !existsSync(stateDir)) return new AnalysisCache(null, analyser, {});
    const path = codegenCachePathOf(appDir);
    try {
      const stored = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
      if (stored.analyser === analyser && stored.modules && typeof stored.modules === 'object')
        return new AnalysisCache(path, analyser, stored.modules);
    } catch {
      // Absent, or damaged (an interrupted write, an edit): started afresh.
    }
    return new AnalysisCache(path, analyser, {});
  }

  /** The last text seen of each file and its SHA-1: codegen and the rules of one check ask about the same text. */
  private readonly digests = new Map<string, { text: string; sha1: string }>();

  private digest(file: string, text: string): string {
    const known = this.digests.get(file);
    if (known?.text === text) return known.sha1;
    const sha1 = createHash('sha1').update(text).digest('base64');
    this.digests.set(file, { text, sha1 });
    return sha1;
  }

  /** The entry of this exact text of `file` (one made afresh when the text changed), or null when inert. */
  private entry(file: string, text: string, create: boolean): Entry | null {
    if (!this.path) return null;
    const sha1 = this.digest(file, text);
    const entry = this.modules[file];
    if (entry?.sha1 === sha1) return entry;
    if (!create) return null;
    return (this.modules[file] = { sha1 });
  }

  /** The stored analysis of this exact text of `file`, or null. */
  get(file: string, text: string): ModuleAnalysis | null {
    const analysis = this.entry(file, text, false)?.analysis;
    return analysis ? restored(analysis) : null;
  }

  set(file: string, text: string, analysis: ModuleAnalysis): void {
    const entry = this.entry(file, text, true);
    if (!entry) return;
    entry.analysis = stored(analysis);
    this.changed = true;
  }

  /** The static rules' stored findings for this exact text of `file`, or null. */
  findings<T>(file: string, text: string): T[] | null {
    return (this.entry(file, text, false)?.findings as T[] | undefined) ?? null;
  }

  setFindings(file: string, text: string, findings: unknown[]): void {
    const entry = this.entry(file, text, true);
    if (!entry) return;
    entry.findings = findings;
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
