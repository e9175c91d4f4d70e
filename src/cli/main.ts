// The CLI entry: the only place that sets the process exit code.
import { runCli } from './program.js';

// `valet invocations ls | head -1`: the reader went away; that is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
