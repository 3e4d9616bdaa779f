/** Numbers as spoken words, for grammars: "30" → "thirty", "2.5" → "two point five". */
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const TEENS = [
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

function below1000(n: number): string[] {
  const words: string[] = [];
  if (n >= 100) {
    words.push(ONES[Math.floor(n / 100)]!, 'hundred');
    n %= 100;
    if (n === 0) return words;
  }
  if (n >= 20) {
    words.push(TENS[Math.floor(n / 10)]!);
    if (n % 10) words.push(ONES[n % 10]!);
  } else if (n >= 10) words.push(TEENS[n - 10]!);
  else words.push(ONES[n]!);
  return words;
}

export function numberToWords(text: string): string {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return text;
  const whole = Number(match[2]);
  const words: string[] = match[1] ? ['minus'] : [];
  if (whole >= 1_000_000) return text; // not spoken in commands; left for the dictionary check to flag
  if (whole >= 1000) {
    words.push(...below1000(Math.floor(whole / 1000)), 'thousand');
    if (whole % 1000) words.push(...below1000(whole % 1000));
  } else words.push(...below1000(whole));
  if (match[3]) words.push('point', ...[...match[3]].map((d) => ONES[Number(d)]!));
  return words.join(' ');
}

/** Spoken number words back to digits ("thirty five point two" → "35.2"), for parsers that expect digits. */
export function wordsToNumbers(text: string): string {
  const value = new Map<string, number>([
    ...ONES.map((w, i) => [w, i] as const),
    ...TEENS.map((w, i) => [w, 10 + i] as const),
    ...TENS.flatMap((w, i) => (w ? [[w, i * 10] as const] : [])),
  ]);
  const out: string[] = [];
  const tokens = text.split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; ) {
    if (!value.has(tokens[i]!)) {
      out.push(tokens[i++]!);
      continue;
    }
    let total = 0;
    let current = 0;
    let last: 'ones' | 'tens' | 'scale' | undefined;
    while (i < tokens.length) {
      const t = tokens[i]!;
      const v = value.get(t);
      if (v !== undefined) {
        const isTens = v >= 20 && v % 10 === 0;
        // "two three" is two numbers; "twenty three" is one.
        if (last === 'ones' || (last === 'tens' && (isTens || v >= 10))) break;
        current += v;
        last = isTens ? 'tens' : 'ones';
      } else if (t === 'hundred' && last !== undefined && last !== 'scale') {
        current *= 100;
        last = 'scale';
      } else if (t === 'thousand' && last !== undefined) {
        total += current * 1000;
        current = 0;
        last = 'scale';
      } else if (t === 'and' && last === 'scale' && value.has(tokens[i + 1] ?? '')) {
        // "one hundred and five"
      } else break;
      i++;
    }
    let number = String(total + current);
    if (tokens[i] === 'point' && value.has(tokens[i + 1] ?? '') && (value.get(tokens[i + 1]!) ?? 10) < 10) {
      i++;
      let decimals = '';
      while (i < tokens.length && (value.get(tokens[i]!) ?? 10) < 10)
        decimals += String(value.get(tokens[i++]!));
      number += `.${decimals}`;
    }
    out.push(number);
  }
  return out.join(' ');
}

/**
 * JSGF rules for any number 0–999 with one optional decimal, shared by every numeric slot. Kept small on
 * purpose: PocketSphinx inlines every rule reference, so this rule is copied once per numeric slot use.
 */
export const NUMBER_RULES = [
  `<digit> = ${ONES.slice(1).join(' | ')};`,
  `<below100> = zero | <digit> | ${TEENS.join(' | ')} | (${TENS.slice(2).join(' | ')}) [<digit>];`,
  `<number> = [minus] ( <below100> | [a | <digit>] hundred [[and] <below100>] ) [point (zero | <digit>)];`,
];
