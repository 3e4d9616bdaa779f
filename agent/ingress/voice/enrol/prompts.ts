/** Sentences for a user to read aloud when enrolling: commands of the voice grammar (pure). */
import { mulberry32 } from '../../../../models/factory/rng.ts';
import { parseJsgfRules, sampleSentence } from '../../../../models/factory/voice/ngram.ts';

export interface PromptOptions {
  count: number;
  /** Sentences (as space-joined spoken words) never to prompt, e.g. a benchmark's test commands. */
  exclude?: Set<string>;
  seed?: number;
  minWords?: number;
  maxWords?: number;
}

/**
 * Distinct single commands sampled from the grammar's `<one>` rule with a seeded generator, so a user
 * reads the words and sounds the recogniser listens for. Throws when the grammar has no `<one>` rule.
 */
export function enrolmentPrompts(jsgf: string, options: PromptOptions): string[] {
  const { rules } = parseJsgfRules(jsgf);
  if (!rules.has('one')) throw new Error('voice grammar has no <one> rule');
  const rng = mulberry32(options.seed ?? 1);
  const minWords = options.minWords ?? 3;
  const maxWords = options.maxWords ?? 12;
  const out = new Set<string>();
  for (let tries = 0; out.size < options.count && tries < options.count * 1000; tries++) {
    const words = sampleSentence(rules, 'one', rng);
    const text = words.join(' ');
    if (words.length < minWords || words.length > maxWords || options.exclude?.has(text)) continue;
    out.add(text);
  }
  return [...out];
}
