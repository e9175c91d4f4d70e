// The CLI entry: the only place that sets the process exit code.
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
