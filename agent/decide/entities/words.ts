/**
 * Spoken numbers, both directions: words → value (resolve) and value → words (sample).
 *
 * Hand-written on purpose: the npm candidates (words-to-numbers, numbers-from-words) are unmaintained,
 * miss fractions ("two and a half", "three quarters", "a dozen") and give no generator, while training
 * data must be produced by the same grammar that resolves it. The grammar is small and closed.
 */

export type Rng = () => number;

const UNITS: Record<string, number> = {
  zero: 0,
  oh: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
};
const TENS: Record<string, number> = {
  twenty: 20,
  thirty: 30,
  forty: 40,
  fourty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};
const SCALES: Record<string, number> = { hundred: 100, thousand: 1000, million: 1_000_000 };
const FRACTION_WORDS: Record<string, number> = {
  half: 0.5,
  halves: 0.5,
  third: 1 / 3,
  thirds: 1 / 3,
  quarter: 0.25,
  quarters: 0.25,
  fourth: 0.25,
  fourths: 0.25,
  tenth: 0.1,
  tenths: 0.1,
};

export const UNIT_WORDS = Object.keys(UNITS).filter((w) => w !== 'oh');
export const TENS_WORDS = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/**
 * Lower-case word tokens: hyphens and slashes split words, digits split from letters ("2m" → "2 m"),
 * thousands separators dropped ("1,000"), "°" kept as its own token.
 */
export function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/(\d),(\d{3})\b/g, '$1$2')
    .replace(/(^|\s)\.(\d)/g, (_m, lead: string, digit: string) => `${lead}0.${digit}`)
    .replace(/[’']/g, "'")
    .replace(/°/g, ' ° ')
    .replace(/%/g, ' % ')
    .replace(/(\d)([a-z])/g, '$1 $2')
    .replace(/([a-z])(\d)/g, '$1 $2')
    .replace(/[-–—](?!\d)/g, ' ')
    .replace(/[^a-z0-9.'°%/:\s-]/g, ' ')
    .replace(/(?<![\d])\.|\.(?![\d])/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

export interface NumberMatch {
  value: number;
  /** Index of the first token after the number. */
  next: number;
}

const DIGITS = /^-?\d+(\.\d+)?$/;
const SIMPLE_FRACTION = /^(\d+)\/(\d+)$/;

/** Integer words: "a hundred and twenty three", "twenty-one", "two thousand five hundred". */
function parseIntegerWords(t: string[], i: number): NumberMatch | undefined {
  let total = 0;
  let current = 0;
  let j = i;
  let any = false;
  // After a unit or tens word only a scale word may follow ("eight thirty" is a time, not 38).
  let expectScale = false;
  while (j < t.length) {
    const w = t[j]!;
    if (!expectScale && w in UNITS && w !== 'oh') {
      current += UNITS[w]!;
      j++;
      any = true;
      expectScale = true;
    } else if (!expectScale && w in TENS) {
      current += TENS[w]!;
      j++;
      any = true;
      expectScale = true;
      const unit = t[j];
      if (unit !== undefined && unit in UNITS && UNITS[unit]! > 0 && UNITS[unit]! < 10) {
        current += UNITS[unit]!;
        j++;
      }
    } else if (w in SCALES && (any || (j === i + 1 && t[i] === 'a'))) {
      const scale = SCALES[w]!;
      if (!any) current = 1;
      if (scale === 100) current *= 100;
      else {
        total += (current || 1) * scale;
        current = 0;
      }
      j++;
      any = true;
      expectScale = false;
    } else if (w === 'a' && !any && t[j + 1] !== undefined && t[j + 1]! in SCALES) {
      j++;
    } else if (
      w === 'and' &&
      any &&
      !expectScale &&
      t[j + 1] !== undefined &&
      (t[j + 1]! in UNITS || t[j + 1]! in TENS)
    ) {
      j++;
    } else {
      break;
    }
  }
  if (!any) return undefined;
  return { value: total + current, next: j };
}

/** A fraction phrase alone: "half", "a half", "a quarter", "three quarters", "two thirds", "1/2". */
function parseFraction(t: string[], i: number): NumberMatch | undefined {
  const w = t[i];
  if (w === undefined) return undefined;
  const simple = SIMPLE_FRACTION.exec(w);
  if (simple) {
    const den = Number(simple[2]);
    return den === 0 ? undefined : { value: Number(simple[1]) / den, next: i + 1 };
  }
  if ((w === 'a' || w === 'one' || w === 'an') && t[i + 1] !== undefined && t[i + 1]! in FRACTION_WORDS) {
    return { value: FRACTION_WORDS[t[i + 1]!]!, next: i + 2 };
  }
  if (w in FRACTION_WORDS) return { value: FRACTION_WORDS[w]!, next: i + 1 };
  const count = w in UNITS ? UNITS[w]! : DIGITS.test(w) ? Number(w) : undefined;
  if (count !== undefined && t[i + 1] !== undefined && t[i + 1]! in FRACTION_WORDS && count > 1) {
    return { value: count * FRACTION_WORDS[t[i + 1]!]!, next: i + 2 };
  }
  return undefined;
}

/** "and a half", "and three quarters", "point five", ".5" after an integer part. */
function parseFractionTail(t: string[], i: number): NumberMatch | undefined {
  if (t[i] === 'and') {
    const frac = parseFraction(t, i + 1);
    if (frac && frac.value < 1) return frac;
  }
  if (t[i] === 'point' || t[i] === 'dot') {
    let j = i + 1;
    let digits = '';
    while (j < t.length) {
      const w = t[j]!;
      if (w in UNITS && UNITS[w]! < 10) digits += String(UNITS[w]);
      else if (/^\d+$/.test(w)) digits += w;
      else break;
      j++;
    }
    if (digits) return { value: Number(`0.${digits}`), next: j };
  }
  return undefined;
}

/**
 * Longest number at token i: digits ("1.5", "-3", "1/2"), words ("a hundred and twenty", "two and a
 * half", "a dozen", "half a dozen", "a couple of", "minus three", "one point five").
 */
export function parseNumberAt(t: string[], i: number): NumberMatch | undefined {
  let sign = 1;
  let j = i;
  if (t[j] === 'minus' || t[j] === 'negative') {
    sign = -1;
    j++;
  } else if (t[j] === 'plus' || t[j] === 'positive') {
    j++;
  }
  const w = t[j];
  if (w === undefined) return undefined;
  if (w === 'half' && t[j + 1] === 'a' && t[j + 2] === 'dozen') return { value: sign * 6, next: j + 3 };
  if ((w === 'a' || w === 'one') && t[j + 1] === 'dozen') return { value: sign * 12, next: j + 2 };
  if (w === 'a' && t[j + 1] === 'couple') {
    return { value: sign * 2, next: t[j + 2] === 'of' ? j + 3 : j + 2 };
  }
  if (w === 'a' && t[j + 1] === 'few') return undefined;
  const frac = parseFraction(t, j);
  if (frac) return { value: sign * frac.value, next: frac.next };
  let whole: NumberMatch | undefined;
  if (DIGITS.test(w)) whole = { value: Number(w), next: j + 1 };
  else whole = parseIntegerWords(t, j);
  if (!whole) return undefined;
  if (t[whole.next] === 'dozen') whole = { value: whole.value * 12, next: whole.next + 1 };
  const tail = parseFractionTail(t, whole.next);
  const value = tail ? whole.value + tail.value : whole.value;
  return { value: sign * value, next: tail ? tail.next : whole.next };
}

/** The whole text is one number, else undefined. */
export function parseNumber(text: string): number | undefined {
  const t = tokens(text);
  const m = parseNumberAt(t, 0);
  return m && m.next === t.length && Number.isFinite(m.value) ? m.value : undefined;
}

/** English words for a non-negative integer below a million. */
export function integerToWords(n: number, rng?: Rng): string {
  if (n < 20) return UNIT_WORDS[n]!;
  if (n < 100) {
    const tens = TENS_WORDS[Math.floor(n / 10) - 2]!;
    const rest = n % 10;
    if (rest === 0) return tens;
    return `${tens}${rng && rng() < 0.5 ? '-' : ' '}${UNIT_WORDS[rest]}`;
  }
  if (n < 1000) {
    const hundreds = Math.floor(n / 100);
    const rest = n % 100;
    const head = hundreds === 1 && rng && rng() < 0.4 ? 'a hundred' : `${UNIT_WORDS[hundreds]} hundred`;
    if (rest === 0) return head;
    return `${head}${rng && rng() < 0.5 ? ' ' : ' and '}${integerToWords(rest, rng)}`;
  }
  const thousands = Math.floor(n / 1000);
  const rest = n % 1000;
  const head = `${integerToWords(thousands, rng)} thousand`;
  if (rest === 0) return head;
  return `${head}${rest < 100 ? ' and ' : ' '}${integerToWords(rest, rng)}`;
}

/** Words for a number, including halves and quarters ("two and a half"); falls back to digits. */
export function numberToWords(n: number, rng?: Rng): string {
  if (n < 0) return `${rng && rng() < 0.3 ? 'negative' : 'minus'} ${numberToWords(-n, rng)}`;
  const whole = Math.floor(n);
  const frac = n - whole;
  const fracWords: Record<string, string> = {
    '0.5': 'a half',
    '0.25': 'a quarter',
    '0.75': 'three quarters',
  };
  const f = fracWords[String(Math.round(frac * 100) / 100)];
  if (frac === 0) return integerToWords(whole, rng);
  if (f === undefined) {
    const decimals = String(n).split('.')[1] ?? '';
    return `${integerToWords(whole, rng)} point ${[...decimals].map((d) => UNIT_WORDS[Number(d)]).join(' ')}`;
  }
  if (whole === 0) return f === 'a half' && rng && rng() < 0.3 ? 'half' : f;
  return `${integerToWords(whole, rng)} and ${f}`;
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.min(items.length - 1, Math.floor(rng() * items.length))]!;
}

/** A number as digits or words, chosen at random. */
export function sayNumber(n: number, rng: Rng, wordsShare = 0.5): string {
  return rng() < wordsShare ? numberToWords(n, rng) : String(n);
}
