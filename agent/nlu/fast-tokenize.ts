/**
 * `tokenize` (models/factory/text.ts, the normalisation contract shared with training) for the parser: text
 * of printable ASCII and ASCII spaces, the usual command, is cut with one pass over its character codes
 * (no regular expressions, one lower-casing of the whole text) instead of a regex match, two unicode regex
 * tests and a normalisation per word. Anything else goes to `tokenize` itself. A test compares both on
 * generated and real sentences.
 */
import { type Token, tokenize } from '../../models/factory/text.ts';

const SPACE = 32;
const TILDE = 126;

/** What `\s` matches among the ASCII characters: space, \t, \n, \v, \f, \r. */
function isAsciiSpace(c: number): boolean {
  return c === SPACE || (c >= 9 && c <= 13);
}

/** What `[\p{L}\p{N}]` matches among the ASCII characters. */
function isAsciiWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function tokenizeFast(text: string): Token[] {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > TILDE || (c < SPACE && !isAsciiSpace(c))) return tokenize(text);
  }
  // lower-casing printable ASCII keeps every offset; normalizeWord also turns ` into '
  let lower = text.toLowerCase();
  if (lower.includes('`')) lower = lower.replaceAll('`', "'");
  const tokens: Token[] = [];
  let i = 0;
  while (i < n) {
    while (i < n && isAsciiSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const chunkStart = i;
    while (i < n && !isAsciiSpace(text.charCodeAt(i))) i++;
    // edge punctuation trimmed; a chunk of punctuation only stays whole
    let start = chunkStart;
    let end = i;
    while (start < end && !isAsciiWordChar(text.charCodeAt(start))) start++;
    while (end > start && !isAsciiWordChar(text.charCodeAt(end - 1))) end--;
    if (start === end) {
      start = chunkStart;
      end = i;
    }
    tokens.push({ norm: lower.slice(start, end), start, end });
  }
  return tokens;
}
