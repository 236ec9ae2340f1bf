#!/usr/bin/env node
// The `rampart` command: runs the compiled CLI (npm install compiles it through `prepare`).
'use strict';

// libuv's thread pool runs every file operation; with its default of 4 threads, the fsyncs of
// a few concurrent stores (each ~1 ms of waiting on the disk) hold up the opens, writes and
// renames of the next ones. The size is read when the pool starts, which Node's ESM loader does
// at once: hence this file is CommonJS (bin/package.json) and loads the CLI afterwards. An
// operator's own UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= '16';

import('../dist/cli/main.js').then(({ main }) => main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
