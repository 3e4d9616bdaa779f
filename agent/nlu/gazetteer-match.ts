/**
 * The gazetteer flags of `markGazetteer` (models/factory/features.ts, what training computed) for the run-time
 * parser, over word numbers instead of strings: the parser looks a word's number up once, with its pooled
 * embedding, and the phrase walk then reads flat integer tables (the first step an array read, later ones
 * an open-addressing hash of (node, word) edges) instead of a Map per trie node. A test compares the flags
 * with markGazetteer's.
 */
import type { Gazetteer } from '../../models/factory/features.ts';

/** Not a word of any phrase: no phrase starts or continues with it. */
export const NOT_IN_GAZETTEER = -1;

const NO_NODE = -1;

export class GazetteerMatcher {
  private readonly words = new Map<string, number>();
  /** The node the root's edge for each word leads to (NO_NODE: none). */
  private readonly fromRoot: Int32Array;
  /** The other edges, (node, word) → child, open addressing; edgeNode NO_NODE = empty. */
  private readonly edgeNode: Int32Array;
  private readonly edgeWord: Int32Array;
  private readonly edgeChild: Int32Array;
  private readonly mask: number;
  /** Per node, the slots whose phrase ends there: slotList[slotStart[node] .. slotStart[node + 1]). */
  private readonly slotStart: Int32Array;
  private readonly slotList: Int32Array;

  constructor(gaz: Gazetteer) {
    // the trie with Maps first, then flattened
    const next: Map<number, number>[] = [new Map()];
    const slots: number[][] = [[]];
    gaz.phrases.forEach((phrases, g) => {
      for (const phrase of phrases) {
        let node = 0;
        for (const word of phrase.split(' ')) {
          let w = this.words.get(word);
          if (w === undefined) {
            w = this.words.size;
            this.words.set(word, w);
          }
          let child = next[node]!.get(w);
          if (child === undefined) {
            child = next.length;
            next.push(new Map());
            slots.push([]);
            next[node]!.set(w, child);
          }
          node = child;
        }
        if (!slots[node]!.includes(g)) slots[node]!.push(g);
      }
    });
    this.fromRoot = new Int32Array(this.words.size).fill(NO_NODE);
    for (const [word, node] of next[0]!) this.fromRoot[word] = node;
    const edges = next.reduce((sum, m, node) => sum + (node === 0 ? 0 : m.size), 0);
    let capacity = 16;
    while (capacity < edges * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.edgeNode = new Int32Array(capacity).fill(NO_NODE);
    this.edgeWord = new Int32Array(capacity);
    this.edgeChild = new Int32Array(capacity);
    for (let node = 1; node < next.length; node++)
      for (const [word, child] of next[node]!) {
        let i = this.slotOf(node, word);
        while (this.edgeNode[i] !== NO_NODE) i = (i + 1) & this.mask;
        this.edgeNode[i] = node;
        this.edgeWord[i] = word;
        this.edgeChild[i] = child;
      }
    this.slotStart = new Int32Array(slots.length + 1);
    slots.forEach((list, node) => {
      this.slotStart[node + 1] = this.slotStart[node]! + list.length;
    });
    this.slotList = Int32Array.from(slots.flat());
  }

  private slotOf(node: number, word: number): number {
    return (Math.imul(node, 0x9e3779b1) ^ Math.imul(word + 1, 0x85ebca6b)) & this.mask;
  }

  private child(node: number, word: number): number {
    for (let i = this.slotOf(node, word); this.edgeNode[i] !== NO_NODE; i = (i + 1) & this.mask)
      if (this.edgeNode[i] === node && this.edgeWord[i] === word) return this.edgeChild[i]!;
    return NO_NODE;
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
    const { slotStart, slotList } = this;
    for (let t = 0; t < length; t++) {
      let node = words[t] === NOT_IN_GAZETTEER ? NO_NODE : this.fromRoot[words[t]!]!;
      for (let end = t; node !== NO_NODE; ) {
        for (let s = slotStart[node]!; s < slotStart[node + 1]!; s++) {
          const g = slotList[s]!;
          out[base + t * tokenStride + 2 * g * channelStride] = 1;
          for (let j = t + 1; j <= end; j++) out[base + j * tokenStride + (2 * g + 1) * channelStride] = 1;
        }
        if (++end >= length || words[end] === NOT_IN_GAZETTEER) break;
        node = this.child(node, words[end]!);
      }
    }
  }
}
