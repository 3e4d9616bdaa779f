import type { BuiltinEntity } from './types.ts';
import { integerToWords, parseNumber, pick, type Rng, sayNumber, tokens } from './words.ts';

export const numberEntity: BuiltinEntity<number> = {
  name: 'builtin.number',
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.08) return pick(rng, ['a dozen', 'half a dozen', 'a couple', 'a hundred and twenty', 'a half']);
    if (r < 0.15)
      return `${pick(rng, ['minus', 'negative', '-'])}${rng() < 0.5 ? ' ' : ''}${1 + Math.floor(rng() * 9)}`;
    if (r < 0.3) return String(Math.round(rng() * 100) / 10);
    if (r < 0.4) return sayNumber(Math.floor(rng() * 10) + 0.5, rng, 0.8);
    const n = rng() < 0.6 ? Math.floor(rng() * 20) : Math.floor(rng() * 1000);
    return sayNumber(n, rng);
  },
  resolve(text: string): number | undefined {
    return parseNumber(text.replace(/^(-)\s+/, '$1'));
  },
};

const ORDINAL_UNITS: Record<string, number> = {
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  sixth: 6,
  seventh: 7,
  eighth: 8,
  ninth: 9,
  tenth: 10,
  eleventh: 11,
  twelfth: 12,
  thirteenth: 13,
  fourteenth: 14,
  fifteenth: 15,
  sixteenth: 16,
  seventeenth: 17,
  eighteenth: 18,
  nineteenth: 19,
  twentieth: 20,
  thirtieth: 30,
  fortieth: 40,
  fiftieth: 50,
  hundredth: 100,
};
const ORDINAL_NAMES = Object.fromEntries(Object.entries(ORDINAL_UNITS).map(([w, n]) => [n, w]));

function ordinalSuffix(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return 'th';
  return ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
}

function ordinalWords(n: number): string {
  if (ORDINAL_NAMES[n]) return ORDINAL_NAMES[n]!;
  const tens = Math.floor(n / 10) * 10;
  return `${integerToWords(tens)} ${ORDINAL_NAMES[n % 10]}`;
}

export const ordinalEntity: BuiltinEntity<number> = {
  name: 'builtin.ordinal',
  sample(rng: Rng): string {
    const n = rng() < 0.7 ? 1 + Math.floor(rng() * 10) : 1 + Math.floor(rng() * 59);
    const r = rng();
    if (r < 0.15) return pick(rng, ['last', 'next', 'final']);
    return r < 0.6 ? ordinalWords(n) : `${n}${ordinalSuffix(n)}`;
  },
  resolve(text: string): number | undefined {
    const t = tokens(text).filter((w) => w !== 'the');
    if (t.length === 1) {
      const w = t[0]!;
      if (w === 'last' || w === 'final') return -1;
      if (w === 'next') return 1;
      const digits = /^(\d+)(st|nd|rd|th)$/.exec(w);
      if (digits) return Number(digits[1]);
      if (w in ORDINAL_UNITS) return ORDINAL_UNITS[w];
    }
    // "21 st" after tokenising digits away from letters, "twenty first"
    if (t.length === 2 && /^\d+$/.test(t[0]!) && /^(st|nd|rd|th)$/.test(t[1]!)) return Number(t[0]);
    if (t.length === 2 && t[1]! in ORDINAL_UNITS && ORDINAL_UNITS[t[1]!]! < 10) {
      const tens = parseNumber(t[0]!);
      if (tens !== undefined && tens % 10 === 0 && tens >= 20) return tens + ORDINAL_UNITS[t[1]!]!;
    }
    return undefined;
  },
};
