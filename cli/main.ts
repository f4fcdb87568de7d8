#!/usr/bin/env node
/**
 * The `schedkit` executable (package.json `bin`). `schedkit --help` lists the
 * commands; each takes `--help`.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// `schedkit run` owns the process until its app stops (App.run exits); every other command ends here.
process.exitCode = code;
