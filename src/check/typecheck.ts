// The TypeScript part of `valet check`: the app's own compiler (Valet ships none: the app's
// version is the one its editor uses), in a child process so it runs on the other core while the static rules run here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import type { Finding } from './finding.js';

export interface TypeScriptCompiler {
  tscPath: string;
  version: string;
}

/** The app's own TypeScript (a devDependency, as in any TypeScript project), or null. */
export function findTypeScript(appDir: string): TypeScriptCompiler | null {
  try {
    const require = createRequire(join(appDir, 'package.json'));
    const manifestPath = require.resolve('typescript/package.json');
    const manifest = require(manifestPath) as { version: string };
    return { tscPath: join(dirname(manifestPath), 'bin', 'tsc'), version: manifest.version };
  } catch {
    return null;
  }
}

const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/;
const GLOBAL_DIAGNOSTIC = /^(error|warning) (TS\d+): (.*)$/;

/** Parses `tsc --pretty false` output; continuation lines belong to the diagnostic above them. */
export function parseTscOutput(output: string, appDir: string): Finding[] {
  const findings: Finding[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const located = DIAGNOSTIC.exec(line);
    const global = located ? null : GLOBAL_DIAGNOSTIC.exec(line);
    if (located) {
      const [, file, row, column, severity, code, message] = located;
      const path = relative(appDir, join(appDir, file!)).replaceAll('\\', '/');
      findings.push({
        file: path,
        line: Number(row),
        column: Number(column),
        rule: `typescript(${code})`,
        severity: severity as 'error',
        message: message!,
      });
    } else if (global) {
      findings.push({
        file: 'tsconfig.json',
        line: 1,
        column: 1,
        rule: `typescript(${global[2]})`,
        severity: global[1] as 'error',
        message: global[3]!,
      });
    } else if (findings.length > 0 && /^\s/.test(line)) {
      findings[findings.length - 1]!.message += `\n${line.trimEnd()}`;
    }
  }
  return findings;
}

const finding = (message: string, fix: string): Finding => ({
  file: 'tsconfig.json',
  line: 1,
  column: 1,
  rule: 'typescript',
  severity: 'error',
  message,
  fix,
});

export interface CompilerRun {
  code: number | null;
  output: string;
}

/** Runs the compiler and collects what it printed (valet dev runs it from a helper process). */
export type RunCompiler = (command: string, args: string[], cwd: string) => Promise<CompilerRun>;

export const spawnCompiler: RunCompiler = (command, args, cwd) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });

export async function typecheckApp(
  appDir: string,
  run: RunCompiler = spawnCompiler,
): Promise<{ compiler: TypeScriptCompiler | null; findings: Finding[] }> {
  if (!existsSync(join(appDir, 'tsconfig.json'))) {
    return {
      compiler: null,
      findings: [
        {
          file: 'tsconfig.json',
          line: 1,
          column: 1,
          rule: 'typescript',
          severity: 'error',
          message: 'the app has no tsconfig.json',
          fix: 'add one (valet init creates it with strict settings)',
        },
      ],
    };
  }
  const compiler = findTypeScript(appDir);
  if (!compiler)
    return {
      compiler,
      findings: [
        finding(
          'TypeScript is not installed in the app',
          "npm install --save-dev typescript (valet check uses the app's own compiler)",
        ),
      ],
    };
  const { code, output } = await run(
    process.execPath,
    [compiler.tscPath, '--noEmit', '--pretty', 'false', '-p', 'tsconfig.json'],
    appDir,
  );
  const findings = parseTscOutput(output, appDir);
  if (code !== 0 && findings.length === 0) {
    findings.push({
      file: 'tsconfig.json',
      line: 1,
      column: 1,
      rule: 'typescript',
      severity: 'error',
      message: `tsc exited with code ${code}: ${output.trim() || 'no output'}`,
    });
  }
  return { compiler, findings };
}
