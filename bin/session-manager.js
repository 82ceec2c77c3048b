#!/usr/bin/env node
"use strict";

// Kept tiny and in CommonJS so it runs on every supported Node without a build step of its own.
const { main } = require("../dist/cjs/src/cli/main.js");
const { version } = require("../package.json");

// A closed pipe (`session-manager list-sessions alice | head -1`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
}

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  version,
}).then((code) => {
  process.exitCode = code;
});
