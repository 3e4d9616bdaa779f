import {
  nearSentences,
  nearSentencesByPhones,
  ruleDfa,
  type WordDfa,
} from '../../../models/factory/voice/fsg.ts';
import type { ArpaTrigram, Node } from '../../../models/factory/voice/ngram.ts';
import { type Lattice, latticeSentences } from './lattice.ts';

/**
 * Second pass (pure part). The trigram decoder strings grammar words together freely, so it often hears a
 * command with one word wrong ("set brightness to eighteen in the kitchen") or one too many ("could you
 * please move ..."), which is not a sentence of the grammar and was refused. The grammar sentences within a
 * word edit of what it heard are decoded again over the same audio as a short sentence list, which
 * PocketSphinx decodes well (models/README, "Voice: accuracy vs search space": 93-98 % from a list).
 * Out-of-scope speech stays out: only hypotheses long enough that one edit leaves most of them standing get
 * a second pass, as the recogniser already trims at most one stray word of four.
 */
export interface SecondPassSettings {
  /** Words of the first-pass hypothesis per allowed edit (4: one edit from 4 words, two from 8). */
  wordsPerEdit: number;
  maxEdits: number;
  /** Most sentences decoded in the second pass (closest first). */
  maxCandidates: number;
  /**
   * Phone edits allowed per phone of the heard words when also taking the grammar sentences that sound
   * close to them (0: word edits only).
   */
  phoneEditShare: number;
  /** Largest per-frame lead of the first-pass words over the edited sentence that still accepts the edit. */
  maxRivalMargin: number;
  /** When to take grammar sentences from the first pass's word lattice too. */
  lattice: 'off' | 'enrolled' | 'always';
}

/**
 * The lattice's best grammar sentences offered to the second pass, and the trigram model's weight against the
 * acoustic score in ranking them: chosen on held-out clips of bench:voice-nbest's split (models/README.md,
 * "Grammar sentences from the word lattice"; weights 8–16 rank alike, 10 sentences hold nearly every right one).
 */
const LATTICE_SENTENCES = 10;
const LATTICE_LM_WEIGHT = 12;

export interface Candidate {
  words: string[];
  soundsOnly: boolean;
  /** Found only in the lattice: possibly several words from what the first pass heard. */
  latticeOnly?: true;
}

export class NearSentences {
  private readonly dfa: WordDfa;

  /** `pronunciations`: word → phones (the grammar's dictionary), for the sentences that sound close. */
  constructor(
    rules: Map<string, Node>,
    root: string,
    private readonly pronunciations?: Map<string, string[]>,
  ) {
    this.dfa = ruleDfa(rules, root);
  }

  /** Edits allowed for a hypothesis of `length` words. */
  static edits(length: number, s: SecondPassSettings): number {
    return Math.min(s.maxEdits, Math.floor(length / s.wordsPerEdit));
  }

  /** Whether a grammar sentence is within one word edit of `words`. */
  nearGrammar(words: string[]): boolean {
    return nearSentences(this.dfa, words, 1, 1).length > 0;
  }

  /**
   * Grammar sentences the second pass weighs for `words`, closest first, then those of `fromLattice` not
   * already listed; without lattice sentences, empty when the hypothesis is too short for an edit or nothing
   * in the grammar is that close. `soundsOnly`: found only by its phones (more than the allowed word edits
   * away), and `latticeOnly`: only in the lattice; the recogniser holds both to stricter margins.
   */
  candidates(words: string[], s: SecondPassSettings, fromLattice: string[][] = []): Candidate[] {
    const out = new Map<string, Candidate>();
    const addLattice = () => {
      for (const sentence of fromLattice) {
        if (out.size >= s.maxCandidates) break;
        const key = sentence.join(' ');
        if (!out.has(key)) out.set(key, { words: sentence, soundsOnly: false, latticeOnly: true });
      }
      return [...out.values()];
    };
    // Short hypotheses get no word edits: out-of-scope speech decodes to a few words, and a word or a few
    // phones away from them there is nearly always some command (held-out out-of-scope accepts 1 → 3 of 40).
    // What the lattice holds was weighed by the decoder itself, so it is still offered.
    const edits = NearSentences.edits(words.length, s);
    if (edits === 0) return addLattice();
    for (const c of nearSentences(this.dfa, words, edits, s.maxCandidates))
      out.set(c.words.join(' '), { words: c.words, soundsOnly: false });
    const sounds = this.pronunciations;
    const phones = sounds ? words.flatMap((w) => sounds.get(w) ?? []) : [];
    const phoneEdits = Math.floor(s.phoneEditShare * phones.length);
    if (!sounds || phoneEdits === 0 || out.size >= s.maxCandidates) return addLattice();
    // Then the closest-sounding ones, without repeats.
    for (const c of nearSentencesByPhones(
      this.dfa,
      (w) => sounds.get(w),
      phones,
      phoneEdits,
      s.maxCandidates,
    )) {
      if (out.size >= s.maxCandidates) break;
      const key = c.words.join(' ');
      if (!out.has(key)) out.set(key, { words: c.words, soundsOnly: true });
    }
    return addLattice();
  }

  /** The best `count` grammar sentences the first pass's lattice spells (lattice.ts). */
  latticeSentences(lattice: Lattice, lm: ArpaTrigram): string[][] {
    return latticeSentences(lattice, this.dfa, lm, LATTICE_SENTENCES, LATTICE_LM_WEIGHT);
  }
}

/**
 * The word that changes what the command does (a key of the contrast table: a direction, a room, on/off) which
 * the edit brings in although the first pass did not hear it, or undefined. Such an edit is a guess about the
 * very word that decides where a motor goes ("drive at full speed" edited to "drive back full speed" plans a
 * reverse move; measured with an enrolled model, models/README.md): refused. A spelling of a heard word
 * ("forwards" → "forward", "dim" → "dimmer") is not a guess. `replaced`: the heard word it took the place of,
 * when that is one of its contrasts ("on" heard, "off" chosen): a close call between two rivals.
 */
export function guessedContrast(
  heard: readonly string[],
  edited: readonly string[],
  contrasts: Readonly<Record<string, readonly string[]>>,
): { word: string; replaced?: string } | undefined {
  const inHeard = new Set(heard);
  const inEdited = new Set(edited);
  const dropped = heard.filter((w) => !inEdited.has(w));
  const spellingOf = (word: string, other: string) => {
    const [short, long] = word.length <= other.length ? [word, other] : [other, word];
    return short.length >= 3 && long.startsWith(short) && !(contrasts[word] ?? []).includes(other);
  };
  const word = edited.find(
    (w) => !inHeard.has(w) && Object.hasOwn(contrasts, w) && !dropped.some((d) => spellingOf(w, d)),
  );
  if (word === undefined) return undefined;
  const replaced = dropped.find((d) => (contrasts[word] ?? []).includes(d));
  return replaced === undefined ? { word } : { word, replaced };
}
