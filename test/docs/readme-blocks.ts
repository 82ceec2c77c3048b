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
