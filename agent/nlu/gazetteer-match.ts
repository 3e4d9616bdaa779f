/**
 * The gazetteer flags of `markGazetteer` (models/factory/features.ts, what training computed) for the run-time
 * parser, over word numbers instead of strings: the parser looks a word's number up once, with its pooled
 * embedding, and the phrase walk then follows integer-keyed edges (SNIPS: ~2.7 → ~1 µs a parse). A test
 * compares the flags with markGazetteer's on every SNIPS sentence.
 */
import type { Gazetteer } from '../../models/factory/features.ts';

/** Not a word of any phrase: no phrase starts or continues with it. */
export const NOT_IN_GAZETTEER = -1;

export class GazetteerMatcher {
  private readonly words = new Map<string, number>();
  /** Per trie node: child node by word number. Node 0 is the root. */
  private readonly next: Map<number, number>[] = [new Map()];
  /** The root's children as an array (every walk starts there: one lookup per token). */
  private readonly fromRoot: Int32Array;
  /** Per trie node: the slots whose phrase ends there. */
  private readonly slots: number[][] = [[]];

  constructor(gaz: Gazetteer) {
    gaz.phrases.forEach((phrases, g) => {
      for (const phrase of phrases) {
        let node = 0;
        for (const word of phrase.split(' ')) {
          let w = this.words.get(word);
          if (w === undefined) {
            w = this.words.size;
            this.words.set(word, w);
          }
          let child = this.next[node]!.get(w);
          if (child === undefined) {
            child = this.next.length;
            this.next.push(new Map());
            this.slots.push([]);
            this.next[node]!.set(w, child);
          }
          node = child;
        }
        if (!this.slots[node]!.includes(g)) this.slots[node]!.push(g);
      }
    });
    this.fromRoot = new Int32Array(this.words.size).fill(-1);
    for (const [word, node] of this.next[0]!) this.fromRoot[word] = node;
  }

  /** The number of a normalised word, or NOT_IN_GAZETTEER. */
  wordNumber(norm: string): number {
    return this.words.get(norm) ?? NOT_IN_GAZETTEER;
  }

  /**
   * Sets the flag of token t, flag channel c at `out[base + t * tokenStride + c * channelStride]` (the caller
   * zeroes `out`), for the tokens whose word numbers are `words[0..length)`: what markGazetteer sets.
   */
  mark(
    words: Int32Array,
    length: number,
    out: Float32Array,
    base: number,
    tokenStride: number,
    channelStride: number,
  ): void {
    const next = this.next;
    const slots = this.slots;
    for (let t = 0; t < length; t++) {
      let node: number | undefined = words[t] === NOT_IN_GAZETTEER ? -1 : this.fromRoot[words[t]!]!;
      if (node < 0) continue;
      for (let end = t; node !== undefined; ) {
        const ending = slots[node]!;
        for (let s = 0; s < ending.length; s++) {
          const g = ending[s]!;
          out[base + t * tokenStride + 2 * g * channelStride] = 1;
          for (let j = t + 1; j <= end; j++) out[base + j * tokenStride + (2 * g + 1) * channelStride] = 1;
        }
        if (++end >= length || words[end] === NOT_IN_GAZETTEER) break;
        node = next[node]!.get(words[end]!);
      }
    }
  }
}
