/**
 * Contrast check (pure part): a hypothesis is re-scored against the same sentence with one safety-relevant
 * word swapped for a word that means otherwise ("on" → "off"). The swaps come from the grammar's
 * `contrasts` table (voice.json); the recogniser decodes the audio constrained to each side as a tiny
 * finite-state grammar and compares the acoustic scores.
 */

/** Every sentence that differs from `words` by one contrasting word, at most `max` of them. */
export function contrastVariants(words: string[], table: Record<string, string[]>, max = 24): string[][] {
  const out: string[][] = [];
  words.forEach((word, i) => {
    for (const other of table[word] ?? []) {
      if (out.length < max) out.push(words.map((w, k) => (k === i ? other : w)));
    }
  });
  return out;
}

/** Sphinx FSG text accepting exactly `sentences` (parallel chains from the start state to one final state). */
export function sentencesFsg(name: string, sentences: string[][]): string {
  const transitions: string[] = [];
  let states = 2; // 0 start, 1 final
  for (const words of sentences) {
    let from = 0;
    words.forEach((word, i) => {
      const to = i === words.length - 1 ? 1 : states++;
      transitions.push(`TRANSITION ${from} ${to} ${(i === 0 ? 1 / sentences.length : 1).toFixed(6)} ${word}`);
      from = to;
    });
  }
  return [
    `FSG_BEGIN ${name}`,
    `NUM_STATES ${states}`,
    'START_STATE 0',
    'FINAL_STATE 1',
    ...transitions,
    'FSG_END',
    '',
  ].join('\n');
}
