import { type NumberMatch, parseNumberAt, type Rng, tokens } from './words.ts';

/** Unit phrases (space-separated tokens as `tokens()` produces them) → factor to the base unit. */
export type UnitTable = Record<string, number>;

const LEADING_HEDGES = new Set([
  'about',
  'around',
  'roughly',
  'approximately',
  'exactly',
  'just',
  'only',
  'like',
  'by',
]);
const ADJECTIVES = new Set(['full', 'complete', 'whole', 'more', 'extra']);

function matchUnit(t: string[], i: number, units: UnitTable): { factor: number; next: number } | undefined {
  let best: { factor: number; next: number } | undefined;
  for (const [phrase, factor] of Object.entries(units)) {
    const words = phrase.split(' ');
    if (words.every((w, k) => t[i + k] === w) && (!best || i + words.length > best.next)) {
      best = { factor, next: i + words.length };
    }
  }
  return best;
}

/** A count before a unit: a number, "a"/"an" (= 1), or "half a"/"half an" (= 0.5). */
function countAt(t: string[], i: number, units: UnitTable): NumberMatch | undefined {
  const w = t[i];
  if (w === 'half' && (t[i + 1] === 'a' || t[i + 1] === 'an')) return { value: 0.5, next: i + 2 };
  if ((w === 'a' || w === 'an') && (matchUnit(t, i + 1, units) || ADJECTIVES.has(t[i + 1] ?? ''))) {
    return { value: 1, next: i + 1 };
  }
  return parseNumberAt(t, i);
}

/**
 * "2.5 m", "two and a half meters", "half a meter", "a meter and a half", "five feet six inches",
 * "about 30 cm" → value in the base unit. A bare number takes `bareFactor` (undefined: refused).
 */
export function parseQuantity(text: string, units: UnitTable, bareFactor?: number): number | undefined {
  const t = tokens(text);
  let i = 0;
  while (LEADING_HEDGES.has(t[i] ?? '')) i++;
  if (t[i] === 'another') t[i] = 'a';
  if (i >= t.length) return undefined;
  let total = 0;
  let sawUnit = false;
  while (i < t.length) {
    const count = countAt(t, i, units);
    if (!count) return undefined;
    i = count.next;
    while (ADJECTIVES.has(t[i] ?? '')) i++;
    const unit = matchUnit(t, i, units);
    if (!unit) {
      if (sawUnit || bareFactor === undefined || i < t.length) return undefined;
      total += count.value * bareFactor;
      break;
    }
    sawUnit = true;
    i = unit.next;
    let value = count.value;
    if (t[i] === 'and' && t[i + 1] === 'a' && t[i + 2] === 'half') {
      value += 0.5;
      i += 3;
    } else if (t[i] === 'and' && t[i + 1] === 'a' && t[i + 2] === 'quarter') {
      value += 0.25;
      i += 3;
    }
    total += value * unit.factor;
    if (t[i] === 'and') i++;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Rounds away float noise from unit conversion (0.30479999 → 0.3048). */
export function tidy(value: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function plural(unit: string, n: number): string {
  if (n === 1) return unit;
  if (unit === 'foot') return 'feet';
  if (unit === 'inch') return 'inches';
  if (unit.endsWith('s')) return unit;
  return `${unit}s`;
}

export type { Rng };
