/**
 * Slot-value substitution: copies of training sentences with each slot span swapped for another value the
 * training set gives the same slot ("play [yellow submarine](track)" → "play [hey jude](track)"). The model sees
 * more values in each context, so it leans on the context rather than memorising which words are values.
 */
import type { Example, Span } from './dataset.ts';
import { mulberry32 } from './rng.ts';

/** `ratio` × examples new sentences (in-scope ones with slots), seeded. */
export function substituteSlotValues(examples: readonly Example[], ratio: number, seed: number): Example[] {
  const values = new Map<string, string[]>();
  for (const e of examples) {
    for (const s of e.spans) {
      const list = values.get(s.slot) ?? [];
      list.push(e.text.slice(s.start, s.end));
      values.set(s.slot, list);
    }
  }
  const rng = mulberry32(seed + 11);
  const withSlots = examples.filter((e) => e.intent !== null && e.spans.length > 0);
  const out: Example[] = [];
  const wanted = Math.round(examples.length * ratio);
  for (let i = 0; i < wanted && withSlots.length > 0; i++) {
    const e = withSlots[Math.floor(rng() * withSlots.length)]!;
    const spans = [...e.spans].sort((a, b) => a.start - b.start);
    let text = '';
    let at = 0;
    const moved: Span[] = [];
    let swapped = 0;
    for (const s of spans) {
      const pool = values.get(s.slot)!;
      // each span swapped with probability one half, at least one per sentence
      const swap = rng() < 0.5 || (swapped === 0 && s === spans.at(-1));
      if (swap) swapped++;
      const value = swap ? pool[Math.floor(rng() * pool.length)]! : e.text.slice(s.start, s.end);
      text += e.text.slice(at, s.start);
      moved.push({ slot: s.slot, start: text.length, end: text.length + value.length });
      text += value;
      at = s.end;
    }
    text += e.text.slice(at);
    out.push({ text, intent: e.intent, spans: moved });
  }
  return out;
}
