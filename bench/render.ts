// Generic output: tables rendered as aligned text for the terminal and as Markdown for BENCHMARKS.md, number
// formatting, and the description of the machine the figures come from.

import { cpus, arch, release, totalmem, type } from "node:os";

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Sentences printed under the table. */
  notes?: string[];
}

export function toText(table: Table): string {
  const cells = [table.columns, ...table.rows];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "─".repeat(width)).join("  ");
  const notes = (table.notes ?? []).map((note) => `  · ${note}`);
  return [`\n${table.title}`, line(table.columns), rule, ...table.rows.map(line), ...notes].join("\n");
}

export function toMarkdown(table: Table, level = "###"): string {
  const row = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
  const align = table.columns.map((_, i) => (i === 0 ? "---" : "--:"));
  const notes = (table.notes ?? []).map((note) => `- ${note}`);
  return [
    `${level} ${table.title}`,
    "",
    row(table.columns),
    `|${align.join("|")}|`,
    ...table.rows.map(row),
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
}

/** 12,345 or 1.23: whole numbers get separators, small ones keep `digits` decimals. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(share: number): string {
  return `${num(share * 100)}%`;
}

export function verdict(met: boolean): string {
  return met ? "met" : "NOT met";
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
}

export function machine(): Machine {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? "unknown",
    cores: all.length,
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    os: `${type()} ${release()} ${arch()}`,
  };
}
