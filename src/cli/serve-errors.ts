// What can go wrong starting a server, as messages for the terminal (file:line for a broken
// module, a clear line for a taken port or a bad database) instead of stack traces.
import { codeFrame } from './code-frame.js';
import { CliError } from './errors.js';

export function describeServeFailure(appDir: string, error: unknown): CliError {
  const name = (error as Error)?.name;
  if (name === 'BuildError') {
    const messages = (error as { messages: { file: string; line: number; column: number; text: string }[] }).messages;
    const text = messages.map((m) => `${m.file}:${m.line}:${m.column}: ${m.text}\n${codeFrame(appDir, m.file, m.line, m.column)}`).join('\n\n');
    return new CliError(`the build failed:\n${text}`);
  }
  if (name === 'PortInUseError' || name === 'StorageError') return new CliError((error as Error).message);
  if (name === 'ModuleLoadError' || (error instanceof Error && /valet\/schema\.ts/.test(error.message))) return new CliError((error as Error).message);
  if (error instanceof Error && error.message.startsWith('auth configuration')) return new CliError(error.message);
  return error instanceof CliError ? error : new CliError(error instanceof Error ? error.message : String(error));
}
