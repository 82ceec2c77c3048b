import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transformSync } from "@swc/core";
import ts from "typescript";
import { ROOT, readmeBlocks, tsdocBlocks } from "./readme-blocks";

// Inside the package, so that `import "session-manager"` resolves to the built package by name.
const SCRATCH = join(ROOT, "test", "docs", ".scratch");

/** A TCP port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function runModule(name: string, source: string): string {
  const { code } = transformSync(source, {
    filename: `${name}.ts`,
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
    module: { type: "es6" },
  });
  const file = join(SCRATCH, `${name}.mjs`);
  writeFileSync(file, code);
  return execFileSync(process.execPath, [file], { cwd: SCRATCH, encoding: "utf8", timeout: 30_000 });
}

beforeAll(() => mkdirSync(SCRATCH, { recursive: true }));
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

describe("README", () => {
  const blocks = readmeBlocks();

  it("starts with the two commands", () => {
    const first = blocks[0]!;
    expect(first.line).toBeLessThan(6);
    expect(first.code).toContain("npm install && npm start");
    expect(first.code).toContain("npm install && npm test");
  });

  it("runs the Quickstart as written", () => {
    const quickstart = blocks.find((b) => b.heading === "Quickstart" && b.language === "ts");
    expect(quickstart?.code).toContain("new SessionManager");
    const output = runModule("quickstart", quickstart!.code);
    expect(output.trim().split("\n")).toEqual(["Alice", "1", "null"]);
  });

  it("type-checks every TypeScript block, and every TSDoc example, against the package's types", () => {
    const docExamples = tsdocBlocks(["src", "adapters"]);
    expect(docExamples.length).toBeGreaterThan(10);
    const tsBlocks = [...blocks.filter((b) => b.language === "ts"), ...docExamples];
    expect(tsBlocks.length).toBeGreaterThan(1);
    const files = tsBlocks.map((block, index) => {
      const file = join(SCRATCH, `block-${index}.ts`);
      // Each block is its own module, as a reader would paste it into a file of their own.
      writeFileSync(file, block.code.includes("import ") || block.code.includes("export ") ? block.code : `${block.code}\nexport {};\n`);
      return { file, block };
    });
    const config = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile).config as { compilerOptions: object };
    const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
    const program = ts.createProgram(
      files.map((f) => f.file),
      {
        ...options,
        noEmit: true,
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        types: ["node"],
      },
    );
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const entry = files.find((f) => f.file === d.file?.fileName);
      const where = entry
        ? entry.block.heading.includes(".ts")
          ? `${entry.block.heading}:${entry.block.line} example`
          : `README.md block at line ${entry.block.line} (${entry.block.heading})`
        : (d.file?.fileName ?? "");
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(problems).toEqual([]);
  });

  it("runs the command-line examples as written", () => {
    const dir = mkdtempSync(join(tmpdir(), "sm-readme-cli-"));
    try {
      const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, "app.db")}`, ADMIN_PASSWORD: "a long admin password" };
      // `npx session-manager …` in the README stands for the installed bin, which is this one.
      const npx = `npx() { [ "$1" = --no-install ] && shift; [ "$1" = session-manager ] && shift; node ${JSON.stringify(join(ROOT, "bin/session-manager.js"))} "$@"; }`;
      const shell = blocks.filter((b) => b.heading === "Command line" && b.language === "sh");
      expect(shell.length).toBeGreaterThanOrEqual(2);
      const outputs = shell.map((block) =>
        execFileSync("bash", ["-c", `set -euo pipefail\n${npx}\n${block.code}`], { env, encoding: "utf8", cwd: dir }),
      );
      expect(outputs.join("\n")).toContain("alice");

      // The scheduled commands of "Scheduling cleanup" run as they stand there.
      const scheduled = blocks.filter((b) => b.heading === "Scheduling cleanup" && (b.language === "cron" || b.language === "ini"));
      expect(scheduled).toHaveLength(2);
      for (const block of scheduled) {
        const command = /npx --no-install session-manager [^>\n]*/.exec(block.code)![0].trim();
        const output = execFileSync("bash", ["-c", `set -euo pipefail\n${npx}\n${command} 2>&1`], {
          env: { ...env, SESSION_DATABASE_URL: env.DATABASE_URL },
          encoding: "utf8",
          cwd: dir,
        });
        expect(output).toMatch(/deleted \d+ expired sessions/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the password reset example as written: register, forgot password, the mailed link, the new password", async () => {
    const block = blocks.find((b) => b.heading === "Password reset and email verification" && b.language === "ts");
    expect(block?.code).toContain("passwordResetRequestHandler");
    const port = await freePort();
    const { code } = transformSync(block!.code, {
      filename: "reset-example.ts",
      jsc: { parser: { syntax: "typescript" }, target: "es2022" },
      module: { type: "es6" },
    });
    writeFileSync(join(SCRATCH, "reset-example.mjs"), code);
    // Without SMTP_URL the example prints each mail; the driver reads the link from there.
    writeFileSync(
      join(SCRATCH, "reset-driver.mjs"),
      `
const printed = [];
console.log = (...args) => printed.push(args.join(" "));
await import("./reset-example.mjs");
const base = "http://127.0.0.1:${port}";
async function call(path, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return response.status;
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
const results = [];
results.push(await call("/register", { username: "alice", password: "correct horse battery", email: "Alice@Example.com" }));
results.push(await call("/forgot-password", { identifier: "alice@example.com" }));
let line;
for (let i = 0; i < 100 && line === undefined; i++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  line = printed.find((text) => text.startsWith("mail to Alice@Example.com: Open "));
}
const token = new URL(line.split(" ")[4]).searchParams.get("token");
results.push(await call("/reset-password", { token, password: "a new long passphrase" }));
results.push(await call("/reset-password", { token, password: "another passphrase" }));
results.push(await call("/login", { username: "alice", password: "correct horse battery" }));
results.push(await call("/login", { username: "alice", password: "a new long passphrase" }));
process.stdout.write(JSON.stringify(results));
process.exit(0);
`,
    );
    const output = execFileSync(process.execPath, [join(SCRATCH, "reset-driver.mjs")], {
      cwd: SCRATCH,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, PORT: String(port), DATABASE_URL: "sqlite::memory:", SMTP_URL: "" },
    });
    expect(JSON.parse(output)).toEqual([201, 202, 200, 400, 401, 200]);
  });

  it("types every entry point for a CommonJS TypeScript project (moduleResolution node10)", () => {
    // Inside the repository, so that express, koa and hono resolve from its node_modules; the
    // package itself through a node_modules link, as an installed dependency would.
    const project = join(SCRATCH, "cjs-consumer");
    mkdirSync(join(project, "node_modules"), { recursive: true });
    symlinkSync(ROOT, join(project, "node_modules", "session-manager"), "dir");
    const file = join(project, "index.ts");
    writeFileSync(
      file,
      [
        'import express = require("express");',
        'import { SessionManager, type User } from "session-manager";',
        'import { requireUser, sessionMiddleware } from "session-manager/express";',
        'import { sessionMiddleware as koaSession, type SessionState } from "session-manager/koa";',
        'import { sessionMiddleware as honoSession, type SessionVariables } from "session-manager/hono";',
        "const app = express();",
        'app.use(sessionMiddleware({ manager: new SessionManager({ database: "sqlite::memory:" }) }));',
        'app.get("/me", requireUser(), (req, res) => { const user: User | undefined = req.user; res.json(user); });',
        "const state: SessionState | null = null;",
        "const variables: SessionVariables | null = null;",
        "export { koaSession, honoSession, state, variables };",
      ].join("\n"),
    );
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(problems).toEqual([]);
  });

  it("names only files that exist in the repository", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const [, path] of readme.matchAll(/\]\((\.\/[^)#]+)\)/g)) {
      expect(() => readFileSync(join(ROOT, path!))).not.toThrow();
    }
  });
});
