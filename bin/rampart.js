#!/usr/bin/env node
// The `rampart` command: runs the compiled CLI (npm install compiles it through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
