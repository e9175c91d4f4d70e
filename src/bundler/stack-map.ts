// Code evaluated with `vm` gets no source-mapped stack traces from Node, so Valet maps them
// itself: a frame in a bundle becomes valet/users.ts:12:5, as the user wrote it.
import { SourceMap } from 'node:module';
import { relative } from 'node:path';

const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;
const KEEP = 8;

/** A bundle's map, decoded only when a stack trace needs it: most reloads never throw. */
class LazyMap {
  private decoded: SourceMap | null | undefined;

  constructor(private readonly base64: string) {}

  get(): SourceMap | null {
    if (this.decoded === undefined) {
      try {
        this.decoded = new SourceMap(JSON.parse(Buffer.from(this.base64, 'base64').toString('utf8')));
      } catch {
        this.decoded = null;
      }
    }
    return this.decoded;
  }
}

export class BundleMaps {
  private readonly maps = new Map<string, LazyMap>();

  constructor(private readonly appDir: string) {}

  /** Remembers the inline source map of a bundle evaluated under `filename` (the last few are kept). */
  register(filename: string, code: string): void {
    const match = INLINE_MAP.exec(code.slice(-4_000_000));
    if (!match) return;
    this.maps.set(filename, new LazyMap(match[1]!));
    while (this.maps.size > KEEP) this.maps.delete(this.maps.keys().next().value!);
  }

  /** The source position of a bundle position (1-based line and column), relative to the app. */
  locate(filename: string, line: number, column: number): { file: string; line: number; column: number } | null {
    const entry = this.maps
      .get(filename)
      ?.get()
      ?.findEntry(line - 1, column - 1) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (!entry?.originalSource) return null;
    const source = entry.originalSource.startsWith('file://')
      ? new URL(entry.originalSource).pathname
      : entry.originalSource;
    const file = source.startsWith('/') ? relative(this.appDir, source) : source;
    return { file: file.replaceAll('\\', '/'), line: entry.originalLine! + 1, column: entry.originalColumn! + 1 };
  }

  /** Rewrites every bundle frame of a stack trace to its source file and line. */
  rewriteStack(stack: string): string {
    return stack.replace(/([^\s(]+\.js):(\d+):(\d+)/g, (whole, filename: string, line: string, column: string) => {
      if (!this.maps.has(filename)) return whole;
      const at = this.locate(filename, Number(line), Number(column));
      return at ? `${at.file}:${at.line}:${at.column}` : whole;
    });
  }
}
