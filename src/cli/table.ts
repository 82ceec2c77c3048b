/**
 * Lays out rows in columns separated by two spaces, each as wide as its widest cell; the last
 * column is not padded, so lines carry no trailing blanks.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => width(row[column] ?? ""))));
  return all
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - width(cell)))).join("  "),
    )
    .join("\n");
}

/** Cuts a cell to `max` characters, marking the cut with an ellipsis. */
export function truncate(value: string, max: number): string {
  const chars = [...value];
  if (chars.length <= max) return value;
  return `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/** A time in ISO 8601 UTC to the minute: `2026-01-31T09:05Z`. */
export function formatTime(date: Date | null): string {
  return date === null ? "-" : `${date.toISOString().slice(0, 16)}Z`;
}

function width(value: string): number {
  return [...value].length;
}
