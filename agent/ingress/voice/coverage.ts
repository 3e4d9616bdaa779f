import { spokenWords } from '../../../models/factory/voice/jsgf.ts';
import { grammarAccepts, longestGrammarSpan, type Node } from '../../../models/factory/voice/ngram.ts';

/** Whether the voice grammar can say a sentence, and if not, what is missing (`sling voice check`). */
export interface Coverage {
  text: string;
  /** The sentence as spoken words ("30%" → "thirty percent"). */
  words: string[];
  sayable: boolean;
  /** The grammar's own spelling of the sentence, when it says it with words that sound the same ("metre"). */
  as?: string;
  /** Words no sentence of the grammar uses. */
  unknownWords: string[];
  /** The longest run of the words that is a sentence of the grammar on its own. */
  longestPart?: string;
}

/** Spellings tried per sentence at most: homophones multiply ("to" / "two" / "too"). */
const MAX_SPELLINGS = 256;

/**
 * What the recogniser could hear of a sentence: it is said when it, or a sentence of words that sound the same
 * (the grammar's dictionary), is a sentence of the grammar; the recogniser hears sounds, not spellings.
 */
export class GrammarCoverage {
  /** Phones → the grammar's words that sound so. */
  private readonly bySound = new Map<string, string[]>();

  constructor(
    private readonly grammar: { rules: Map<string, Node>; root: string },
    private readonly pronunciations: Map<string, string[]>,
    /** Pronunciations of words outside the grammar (CMUdict: word → phone strings), e.g. "centimetres". */
    private readonly otherWords: Map<string, string[]> = new Map(),
  ) {
    for (const [word, phones] of pronunciations) {
      const key = phones.join(' ');
      this.bySound.set(key, [...(this.bySound.get(key) ?? []), word]);
    }
  }

  of(text: string): Coverage {
    const words = spokenWords(text);
    const unknownWords = [...new Set(words.filter((w) => !this.pronunciations.has(w)))];
    const result: Coverage = { text, words, sayable: false, unknownWords };
    if (this.accepts(words)) return { ...result, sayable: true };
    const choices = words.map((w) => {
      const phones = this.pronunciations.get(w);
      if (phones) return this.bySound.get(phones.join(' '))!;
      const alike = (this.otherWords.get(w) ?? []).flatMap((p) => this.bySound.get(p) ?? []);
      return alike.length > 0 ? [...new Set(alike)] : [w];
    });
    let spellings: string[][] = [[]];
    for (const options of choices) {
      spellings = spellings.flatMap((s) => options.map((o) => [...s, o])).slice(0, MAX_SPELLINGS);
    }
    const same = spellings.find((s) => this.accepts(s));
    if (same) return { ...result, sayable: true, as: same.join(' ') };
    const span = longestGrammarSpan(this.grammar.rules, this.grammar.root, words);
    return span ? { ...result, longestPart: words.slice(span.start, span.end).join(' ') } : result;
  }

  private accepts(words: string[]): boolean {
    return words.length > 0 && grammarAccepts(this.grammar.rules, this.grammar.root, words);
  }
}

/** One line of `sling voice check`'s report. */
export function coverageLine(c: Coverage): string {
  if (c.sayable) return `ok       ${c.text}${c.as && c.as !== c.words.join(' ') ? ` (as "${c.as}")` : ''}`;
  const why = [
    c.unknownWords.length > 0 ? `words the grammar never uses: ${c.unknownWords.join(', ')}` : '',
    c.longestPart ? `the longest part it can say is "${c.longestPart}"` : 'no part of it is a command',
  ].filter(Boolean);
  return `missing  ${c.text} (${why.join('; ')})`;
}
