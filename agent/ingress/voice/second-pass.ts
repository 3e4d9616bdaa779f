import { nearSentences, ruleDfa, type WordDfa } from '../../../models/factory/voice/fsg.ts';
import type { Node } from '../../../models/factory/voice/ngram.ts';

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
  /** Largest per-frame lead of the first-pass words over the edited sentence that still accepts the edit. */
  maxRivalMargin: number;
}

export class NearSentences {
  private readonly dfa: WordDfa;

  constructor(rules: Map<string, Node>, root: string) {
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
   * Grammar sentences the second pass weighs for `words`, closest first; empty when the hypothesis is too
   * short for an edit or nothing in the grammar is that close.
   */
  candidates(words: string[], s: SecondPassSettings): string[][] {
    const edits = NearSentences.edits(words.length, s);
    if (edits === 0) return [];
    return nearSentences(this.dfa, words, edits, s.maxCandidates).map((n) => n.words);
  }
}
