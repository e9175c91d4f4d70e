#!/usr/bin/env node
// `npm create valet@latest my-app`: the same scaffold as `valet init` (same flags, same questions
// on a terminal), from the valet package of the same version.
import { runCli } from 'valet/cli';

process.exitCode = await runCli(['init', ...process.argv.slice(2)]);
