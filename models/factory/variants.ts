/**
 * Unlabelled text for distillation: variants of the training sentences that a user (or a speech recogniser)
 * might produce — paraphrase frames, fillers, typos, ASR-like confusions, other values of the same slot. The
 * variants carry no labels; a teacher labels them (`labelByTeachers` in compress.ts). Pure and seeded.
 */
import type { Example } from './dataset.ts';
import { mulberry32 } from './rng.ts';

/** What produced a variant (counted in the manifest). */
export type VariantOp = 'frame' | 'filler' | 'typo' | 'asr' | 'drop' | 'slot';

/** Frames a speaker puts before a command without changing it (the voice grammar finds frame groups by them). */
export const PREFIXES = [
  'please',
  'can you',
  'could you',
  'could you please',
  'would you',
  'i want to',
  "i'd like to",
  'hey',
  'ok',
  'so',
  'i need you to',
  'go ahead and',
];
const SUFFIXES = ['please', 'thanks', 'thank you', 'now', 'for me', 'right now', 'ok'];
export const FILLERS = ['um', 'uh', 'er', 'like', 'hmm', 'uhm', 'you know', 'well'];
/** Words a recogniser confuses (homophones and near-homophones, in both directions). */
const SOUNDS_ALIKE: Record<string, string[]> = {
  to: ['two', 'too'],
  two: ['to', 'too'],
  for: ['four'],
  four: ['for'],
  by: ['buy', 'bye'],
  buy: ['by'],
  right: ['write'],
  write: ['right'],
  there: ['their'],
  their: ['there'],
  the: ['a', 'uh'],
  a: ['the', 'uh'],
  in: ['and'],
  and: ['in', 'an'],
  of: ['off'],
  off: ['of'],
  on: ['in'],
  i: ['eye'],
  be: ['bee'],
  see: ['sea'],
  new: ['knew'],
  hour: ['our'],
  our: ['hour'],
  one: ['won'],
  eight: ['ate'],
  light: ['lite'],
  rain: ['reign'],
  play: ['plays'],
  what: ["what's"],
  "what's": ['what'],
  "i'd": ['id'],
  "i'm": ['im'],
  "don't": ['dont'],
};
const FUNCTION_WORDS = new Set(['the', 'a', 'an', 'to', 'of', 'for', 'in', 'on', 'at', 'me', 'my', 'please']);
const KEYBOARD = 'qwertyuiop asdfghjkl zxcvbnm';

interface Segment {
  words: string[];
  /** Slot of a span; undefined for text outside spans. */
  slot?: string;
}

function segmentsOf(example: Example): Segment[] {
  const out: Segment[] = [];
  const words = (s: string) => s.split(/\s+/).filter((w) => w.length > 0);
  let at = 0;
  for (const span of [...example.spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue; // overlapping spans: keep the first
    const before = words(example.text.slice(at, span.start));
    if (before.length > 0) out.push({ words: before });
    out.push({ words: words(example.text.slice(span.start, span.end)), slot: span.slot });
    at = span.end;
  }
  const rest = words(example.text.slice(at));
  if (rest.length > 0) out.push({ words: rest });
  return out;
}

function typo(word: string, rng: () => number): string {
  const i = 1 + Math.floor(rng() * (word.length - 2)); // keep the first letter: people rarely miss it
  const kind = Math.floor(rng() * 4);
  if (kind === 0) return word.slice(0, i) + word[i + 1]! + word[i]! + word.slice(i + 2); // swap
  if (kind === 1) return word.slice(0, i) + word.slice(i + 1); // drop
  if (kind === 2) return word.slice(0, i) + word[i]! + word.slice(i); // double
  const row = KEYBOARD.split(' ').find((r) => r.includes(word[i]!));
  if (!row) return word.slice(0, i) + word.slice(i + 1);
  const k = row.indexOf(word[i]!);
  const near = row[k + (k === 0 || (k < row.length - 1 && rng() < 0.5) ? 1 : -1)]!;
  return word.slice(0, i) + near + word.slice(i + 1); // neighbouring key
}

const pick = <T>(items: readonly T[], rng: () => number): T => items[Math.floor(rng() * items.length)]!;

/** Applies one operation in place; false when it does not apply to this sentence. */
function apply(op: VariantOp, segs: Segment[], pool: Map<string, string[][]>, rng: () => number): boolean {
  const outside = segs.filter((s) => s.slot === undefined);
  switch (op) {
    case 'frame': {
      if (rng() < 0.6) segs.unshift({ words: pick(PREFIXES, rng).split(' ') });
      else segs.push({ words: pick(SUFFIXES, rng).split(' ') });
      return true;
    }
    case 'filler': {
      // between segments, never inside a slot value
      const at = Math.floor(rng() * (segs.length + 1));
      segs.splice(at, 0, { words: pick(FILLERS, rng).split(' ') });
      return true;
    }
    case 'typo': {
      const candidates = segs.flatMap((s) =>
        s.words.map((w, i) => ({ s, i, w })).filter(({ w }) => w.length >= 4 && /^[a-z]+$/i.test(w)),
      );
      if (candidates.length === 0) return false;
      const { s, i, w } = pick(candidates, rng);
      s.words[i] = typo(w, rng);
      return true;
    }
    case 'asr': {
      const candidates = segs.flatMap((s) =>
        s.words.map((w, i) => ({ s, i, w: w.toLowerCase() })).filter(({ w }) => SOUNDS_ALIKE[w]),
      );
      if (candidates.length === 0) return false;
      const { s, i, w } = pick(candidates, rng);
      s.words[i] = pick(SOUNDS_ALIKE[w]!, rng);
      return true;
    }
    case 'drop': {
      const candidates = outside.flatMap((s) =>
        s.words.map((w, i) => ({ s, i, w: w.toLowerCase() })).filter(({ w }) => FUNCTION_WORDS.has(w)),
      );
      if (candidates.length === 0) return false;
      const { s, i } = pick(candidates, rng);
      s.words.splice(i, 1);
      return true;
    }
    case 'slot': {
      const slots = segs.filter((s) => s.slot !== undefined && (pool.get(s.slot)?.length ?? 0) > 1);
      if (slots.length === 0) return false;
      const s = pick(slots, rng);
      s.words = [...pick(pool.get(s.slot!)!, rng)];
      return true;
    }
  }
}

const OPS: readonly VariantOp[] = ['frame', 'filler', 'typo', 'asr', 'drop', 'slot'];

export interface Variant {
  text: string;
  /** Operations applied, in order. */
  ops: VariantOp[];
  /**
   * The training sentence it was made from: its leave-out gazetteer fold is the variant's too, and its intent
   * measures how often the teacher agrees (not a label).
   */
  source: Example;
}

/**
 * `perSentence` variants of each in-scope example (one or two operations each), distinct from every training
 * sentence and from each other. Deterministic for a seed.
 */
export function variantTexts(examples: readonly Example[], perSentence: number, seed: number): Variant[] {
  const rng = mulberry32(seed ^ 0x5a17);
  const pool = new Map<string, string[][]>();
  const seenValue = new Set<string>();
  const inScope = examples.filter((e) => e.intent !== null);
  for (const e of inScope) {
    for (const s of segmentsOf(e)) {
      if (s.slot === undefined) continue;
      const key = `${s.slot}\u0000${s.words.join(' ').toLowerCase()}`;
      if (seenValue.has(key)) continue;
      seenValue.add(key);
      pool.set(s.slot, [...(pool.get(s.slot) ?? []), s.words]);
    }
  }
  const seen = new Set(examples.map((e) => e.text.trim().toLowerCase()));
  const out: Variant[] = [];
  for (const e of inScope) {
    for (let k = 0, tries = 0; k < perSentence && tries < perSentence * 4; tries++) {
      const segs = segmentsOf(e).map((s) => ({ ...s, words: [...s.words] }));
      const ops: VariantOp[] = [];
      const wanted = rng() < 0.6 ? 1 : 2;
      for (let j = 0; j < wanted * 3 && ops.length < wanted; j++) {
        const op = pick(OPS, rng);
        if (apply(op, segs, pool, rng)) ops.push(op);
      }
      const text = segs
        .flatMap((s) => s.words)
        .join(' ')
        .trim();
      const key = text.toLowerCase();
      if (ops.length === 0 || text.length === 0 || seen.has(key)) continue;
      seen.add(key);
      out.push({ text, ops, source: e });
      k++;
    }
  }
  return out;
}
