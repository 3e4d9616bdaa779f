/** The spoken benchmarks' sentences: the default world's test commands and out-of-scope sentences. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { projectRoot } from '../../agent/paths.ts';
import { spokenWords } from '../../models/factory/voice/jsgf.ts';

/** Non-empty, non-comment lines of a file in test/fixtures/. */
export function fixtureLines(file: string): string[] {
  return readFileSync(resolve(projectRoot, 'test/fixtures', file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Every k-th item, so the sample spans the whole file (robot, lights, thermostat...) reproducibly. */
export const spread = <T>(items: T[], n: number): T[] =>
  Array.from({ length: Math.min(n, items.length) }, (_, i) => items[Math.floor((i * items.length) / n)]!);

/** Commands of test/fixtures/commands.txt that have a plan (not refused, not uncertain). */
export function plannedCommands(): string[] {
  return fixtureLines('commands.txt')
    .map((l) => l.split('|').map((p) => p.trim()))
    .filter(([, plan]) => plan && plan !== 'refused' && !plan.startsWith('?'))
    .map(([text]) => text!);
}

/** Items a benchmark reporting `spread(items, reported)` does not report: held out for choosing settings. */
export function notReported<T>(items: T[], reported: number): T[] {
  const shown = new Set(spread(items, reported));
  return items.filter((t) => !shown.has(t));
}

/**
 * What was said, as words: British and American spellings, and a compound said as two words ("counter
 * clockwise"), are the same sound, so they compare equal.
 */
export const spokenText = (text: string) =>
  spokenWords(text)
    .join(' ')
    .replace(/\bcounter clockwise\b/g, 'counterclockwise')
    .replace(/metre/g, 'meter')
    .replace(/centimetre/g, 'centimeter')
    .replace(/colour/g, 'color');
