/**
 * Normalisation and tokenisation: part of the model contract, shared by training and run time.
 * Tokens are whitespace-separated chunks with edge punctuation trimmed ("lights," → "lights"); a chunk that is
 * only punctuation stays a token so benchmark data tokenised on whitespace keeps one tag per word.
 */

export interface Token {
  /** Normalised form the features are computed from. */
  norm: string;
  /** Character offsets into the original text. */
  start: number;
  end: number;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Any character outside printable ASCII (space to tilde). */
const NOT_PRINTABLE_ASCII = /[^ -~]/;

/** NFKC, lower case, no diacritics, typographic quotes/dashes folded: "Clásicos’" → "clasicos'". */
export function normalizeWord(word: string): string {
  // printable ASCII (most words): the unicode steps change nothing but cost more than the rest of tokenising
  if (!NOT_PRINTABLE_ASCII.test(word)) return word.toLowerCase().replace(/`/g, "'");
  return word
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[‘’`´]/g, "'")
    .replace(/[‐‑‒–—]/g, '-');
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const chunk = /\S+/gu;
  for (let m = chunk.exec(text); m !== null; m = chunk.exec(text)) {
    let start = m.index;
    let end = start + m[0].length;
    const chars = m[0];
    let a = 0;
    let b = chars.length;
    while (a < b && !WORD_CHAR.test(chars[a]!)) a++;
    while (b > a && !WORD_CHAR.test(chars[b - 1]!)) b--;
    if (a < b) {
      start += a;
      end = m.index + b;
    }
    tokens.push({ norm: normalizeWord(text.slice(start, end)), start, end });
  }
  return tokens;
}

/** Whitespace chunks with their offsets, the unit `sling predict` reports one tag for. */
export function whitespaceChunks(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const chunk = /\S+/gu;
  for (let m = chunk.exec(text); m !== null; m = chunk.exec(text)) {
    out.push({ start: m.index, end: m.index + m[0].length });
  }
  return out;
}

export function hasWordChar(text: string): boolean {
  return WORD_CHAR.test(text);
}

const NUMBER_WORDS = new Set(
  (
    'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen ' +
    'seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand ' +
    'million half quarter first second third fourth fifth sixth seventh eighth ninth tenth dozen'
  ).split(' '),
);

/** Coarse word shape so "2", "two" and "12:30" share evidence: numbers as digits or words look alike. */
export function wordShape(norm: string): string | undefined {
  if (/^\d+$/.test(norm)) return norm.length <= 2 ? 'num' : norm.length === 4 ? 'num4' : 'numlong';
  if (/^[\d.,:/-]+$/.test(norm) && /\d/.test(norm)) return /:/.test(norm) ? 'time' : 'numpunct';
  if (/\d/.test(norm)) return 'alnum';
  if (NUMBER_WORDS.has(norm)) return 'num';
  if (!WORD_CHAR.test(norm)) return 'punct';
  return undefined;
}
