import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { transformSync } from "@swc/core";

const ROOT = join(__dirname, "..", "..");
// Inside the package, so that `import "session-manager"` resolves to the built package by name.
const SCRATCH = join(ROOT, "test", "docs", ".scratch");

/** The fenced code blocks of one README section, in order. */
export function codeBlocks(section: string, language = "ts"): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section "${section}"`);
  const end = readme.indexOf("\n## ", start + 1);
  const body = readme.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
}

function runModule(name: string, source: string): string {
  const { code } = transformSync(source, { filename: `${name}.ts`, jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } });
  const file = join(SCRATCH, `${name}.mjs`);
  writeFileSync(file, code);
  return execFileSync(process.execPath, [file], { cwd: SCRATCH, encoding: "utf8", timeout: 30_000 });
}

beforeAll(() => mkdirSync(SCRATCH, { recursive: true }));
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

describe("README", () => {
  it("starts with the two commands", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const firstBlock = readme.slice(0, readme.indexOf("```", readme.indexOf("```") + 3));
    expect(firstBlock).toContain("npm install && npm start");
    expect(firstBlock).toContain("npm install && npm test");
  });

  it("runs the Quickstart as written", () => {
    const [quickstart] = codeBlocks("Quickstart");
    expect(quickstart).toContain("new SessionManager");
    const output = runModule("quickstart", quickstart!);
    expect(output.trim().split("\n")).toEqual(["Alice", "1", "null"]);
  });
});
