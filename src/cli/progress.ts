import { terminalColumns, type CliOutput } from "./io.js";

// Redrawing more often than this only costs terminal output nobody can read.
const REDRAW_MS = 100;

/**
 * A one-line progress bar redrawn in place on a terminal. With an unknown total it shows only
 * the count.
 */
export class ProgressBar {
  readonly #out: CliOutput;
  readonly #label: string;
  #total: number | null;
  #lastDraw = 0;
  #drawn = false;

  constructor(out: CliOutput, total: number | null, label: string) {
    this.#out = out;
    this.#total = total;
    this.#label = label;
  }

  /** Shows `done`, unless the line was drawn a moment ago. */
  update(done: number): void {
    if (this.#drawn && Date.now() - this.#lastDraw < REDRAW_MS) return;
    this.#draw(done);
  }

  /** Draws the final state and ends the line, so later output starts on a fresh one. */
  finish(done: number): void {
    this.#draw(done);
    this.#out.write("\n");
  }

  #draw(done: number): void {
    this.#lastDraw = Date.now();
    this.#drawn = true;
    // Rows that expired after the count was taken can push the count past the total.
    if (this.#total !== null && done > this.#total) this.#total = done;
    this.#out.write(`\r${renderProgress(done, this.#total, this.#label, terminalColumns(this.#out))}\u001b[K`);
  }
}

/** The text of one progress line, at most `columns` wide. */
export function renderProgress(done: number, total: number | null, label: string, columns: number): string {
  const count =
    total === null
      ? `${done.toLocaleString("en-US")} ${label}`
      : `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${label}`;
  if (total === null) return count.slice(0, columns - 1);
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const barWidth = Math.max(10, Math.min(40, columns - count.length - percent.length - 5));
  const filled = Math.round(fraction * barWidth);
  return `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${percent} ${count}`.slice(0, columns - 1);
}
