import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { projectRoot } from '../../agent/paths.ts';

export type Row = Record<string, string | number | boolean | null>;

export function machineInfo() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: projectRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    // not a git checkout: the figures still stand, only unattributed
  }
  return {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    platform: `${platform()}-${arch()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function printTable(rows: readonly Row[]): void {
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (v: unknown) => (typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v ?? ''));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

/** Prints the table and writes test/bench/results/<name>.json with the machine and commit it was measured on. */
export function writeResult(name: string, rows: readonly Row[], extra: Record<string, unknown> = {}): string {
  printTable(rows);
  const dir = resolve(projectRoot, 'test/bench/results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: name, machine: machineInfo(), rows, ...extra }, null, 2)}\n`,
  );
  process.stdout.write(`\nwrote ${file}\n`);
  return file;
}

/**
 * Runs a `sling` CLI step (`node agent/sling.js ...`) for a benchmark and parses its JSON output: either
 * one (pretty) object, or one JSON line after human-readable text. Progress goes to stderr as it comes.
 */
export function runJsonStep(args: string[], label: string): Record<string, unknown> {
  process.stderr.write(`\n== ${label}\n`);
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: projectRoot,
  });
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status})`);
  const out = r.stdout.trim();
  return JSON.parse(out.startsWith('{') ? out : out.split('\n').at(-1)!);
}

/**
 * The SNIPS benchmark data (read from the workplace's shared data beside the project, never copied into it):
 * `../shared/data/snips`, else the absolute path it has on the CI machines.
 */
export function snipsDir(): string {
  const beside = resolve(projectRoot, '../shared/data/snips');
  return existsSync(resolve(beside, 'train.jsonl')) ? beside : '/work/shared/data/snips';
}
