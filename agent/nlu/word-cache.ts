/**
 * The parser's per-word cache: each recent word's pooled embedding and gazetteer word number, stored by slot
 * in two flat arrays (one Map lookup gives a number; no object, Float32Array and backing store per word to
 * chase through memory that onnxruntime has just evicted). Full at `limit` words: then it starts over.
 */
export class WordCache {
  private readonly slots = new Map<string, number>();
  /** Slot s: vectors[s * dim .. (s + 1) * dim). */
  vectors: Float32Array;
  gazetteer: Int32Array;

  constructor(
    private readonly dim: number,
    private readonly limit: number,
  ) {
    const initial = Math.min(256, limit);
    this.vectors = new Float32Array(initial * dim);
    this.gazetteer = new Int32Array(initial);
  }

  /** The word's slot, or -1. */
  find(word: string): number {
    return this.slots.get(word) ?? -1;
  }

  /** A slot for a new word, its vector for the caller to fill. Slots found before may be reused. */
  add(word: string, gazetteer: number): number {
    if (this.slots.size >= this.limit) this.slots.clear();
    const slot = this.slots.size;
    if (slot >= this.gazetteer.length) {
      const capacity = Math.min(this.limit, this.gazetteer.length * 2);
      const vectors = new Float32Array(capacity * this.dim);
      vectors.set(this.vectors);
      this.vectors = vectors;
      const gaz = new Int32Array(capacity);
      gaz.set(this.gazetteer);
      this.gazetteer = gaz;
    }
    this.slots.set(word, slot);
    this.gazetteer[slot] = gazetteer;
    return slot;
  }
}
