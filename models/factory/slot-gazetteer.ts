/**
 * A gazetteer learnt from labelled sentences (jsonl sources have no declared lists): per slot, the values the
 * training set tags with it. Flags from the sentence's own labels would leak them (the model would learn "flag
 * on ⇒ slot" and trust it blindly), so each training sentence sees the values of the other folds only: like a
 * new sentence at run time, it sometimes holds values the gazetteer lacks, and the model learns how far to
 * trust a flag. Dev, negatives and run time use the full gazetteer.
 */
import { type Example, tagExample } from './dataset.ts';
import { bioSpans } from './decode.ts';
import type { Gazetteer } from './features.ts';
import { mulberry32 } from './rng.ts';

export interface SlotGazetteer {
  /** Every training value: shipped in the manifest, used at run time and on dev. */
  full: Gazetteer;
  /** The leave-out gazetteer a training sentence is featurized with. */
  forExample: (example: Example) => Gazetteer;
}

export interface SlotGazetteerOptions {
  /** Number of folds (each sentence sees the values of the others). */
  folds: number;
  /** Only slots with at least this many distinct values get flags (fewer: the word embedding knows them). */
  minValues: number;
  seed: number;
}

export const defaultSlotGazetteer = { folds: 4, minValues: 20 };

/** `extra` sentences (augmented copies) get a fold but give no values (theirs are copies of others'). */
export function slotGazetteer(
  examples: readonly Example[],
  options: SlotGazetteerOptions,
  extra: readonly Example[] = [],
): SlotGazetteer {
  const pick = mulberry32(options.seed + 7);
  const fold = new Map<Example, number>();
  for (const e of extra) fold.set(e, Math.floor(pick() * options.folds));
  // per sentence: its (slot, normalised value) pairs
  const values = new Map<Example, [string, string][]>();
  for (const e of examples) {
    if (values.has(e) || fold.has(e)) continue;
    fold.set(e, Math.floor(pick() * options.folds));
    const tagged = tagExample(e);
    values.set(
      e,
      bioSpans(tagged.tags).map((s) => [
        s.slot,
        tagged.tokens
          .slice(s.first, s.last + 1)
          .map((t) => t.norm)
          .join(' '),
      ]),
    );
  }
  const distinct = new Map<string, Set<string>>();
  for (const pairs of values.values())
    for (const [slot, value] of pairs) distinct.set(slot, (distinct.get(slot) ?? new Set()).add(value));
  const names = [...distinct]
    .filter(([, set]) => set.size >= options.minValues)
    .map(([slot]) => slot)
    .sort();
  const build = (leaveOut: number | undefined): Gazetteer => {
    const phrases = names.map(() => new Set<string>());
    for (const [e, pairs] of values) {
      if (fold.get(e) === leaveOut) continue;
      for (const [slot, value] of pairs) {
        const g = names.indexOf(slot);
        if (g >= 0 && value.length > 0) phrases[g]!.add(value);
      }
    }
    return { names, phrases: phrases.map((set) => [...set].sort()) };
  };
  const full = build(undefined);
  const byFold = Array.from({ length: options.folds }, (_, k) => build(k));
  return { full, forExample: (e) => (fold.has(e) ? byFold[fold.get(e)!]! : full) };
}
