import { unspellUnits } from '../../../models/factory/voice/jsgf.ts';
import { wordsToNumbers } from '../../../models/factory/voice/numbers.ts';

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const NUMBER_WORDS = new Set([
  ...DIGITS,
  ...['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen'],
  ...['nineteen', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'],
  ...['hundred', 'thousand'],
]);

/**
 * Heard words as the parser reads them best: spoken decimals become digits ("one point five meters" →
 * "1.5 meters"); whole numbers stay words, which parsers trained from a spec's sentences always know; unit
 * abbreviations the grammar lets people spell ("thirty c m") become their words ("thirty centimeters").
 * Measured on the default world's 308 planned test commands written out as spoken: 4 lost their typed plan,
 * 3 of them decimals (the parser tags "one point" as a slot of its own); with decimals as digits, 1.
 */
export function typedForm(heard: string): string {
  // Units spelled after a number ("zero point four m slash s") in words first ("meters per second").
  const tokens = unspellUnits(
    heard.split(/\s+/).filter(Boolean),
    (w) => NUMBER_WORDS.has(w) || /^\d/.test(w),
  );
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== 'point' || !DIGITS.includes(tokens[i + 1] ?? '')) {
      out.push(tokens[i]!);
      continue;
    }
    // The whole part: number words (and "and" inside "one hundred and five") right before "point".
    let start = out.length;
    while (
      start > 0 &&
      (NUMBER_WORDS.has(out[start - 1]!) || (out[start - 1] === 'and' && start < out.length))
    )
      start--;
    if (out[start] === 'and') start++;
    if (start === out.length) {
      out.push(tokens[i]!);
      continue;
    }
    let end = i + 1;
    while (DIGITS.includes(tokens[end] ?? '')) end++;
    const spoken = [...out.splice(start), ...tokens.slice(i, end)].join(' ');
    out.push(wordsToNumbers(spoken));
    i = end - 1;
  }
  return out.join(' ');
}
