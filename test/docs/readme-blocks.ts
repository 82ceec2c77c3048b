import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");

export interface CodeBlock {
  /** The `##` or `###` heading the block stands under. */
  heading: string;
  language: string;
  code: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
}

/** Every fenced code block of the README, with the heading it belongs to. */
export function readmeBlocks(): CodeBlock[] {
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const title = /^#{2,4} (.+)$/.exec(line);
    if (title) heading = title[1]!;
    const fence = /^```(\w*)$/.exec(line);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    blocks.push({ heading, language: fence[1] ?? "", code: body.join("\n") + "\n", line: start + 1 });
  }
  return blocks;
}

/** The ```ts examples inside the TSDoc comments of every source file under `dirs`. */
export function tsdocBlocks(dirs: string[]): CodeBlock[] {
  const { readdirSync, statSync } = require("node:fs") as typeof import("node:fs");
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) files.push(path);
    }
  };
  for (const dir of dirs) walk(join(ROOT, dir));
  const blocks: CodeBlock[] = [];
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*\*\s?```ts\s*$/.test(lines[i]!)) continue;
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^\s*\*\s?```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.replace(/^\s*\* ?/, ""));
      blocks.push({ heading: file.slice(ROOT.length + 1), language: "ts", code: body.join("\n") + "\n", line: start + 1 });
    }
  }
  return blocks;
}
