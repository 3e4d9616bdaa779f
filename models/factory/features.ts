/**
 * Token features, shared by training and run time: each token is a bag of hashed ids (the word, its character
 * n-grams, its shape) so words never seen in training still get a representation from their pieces, plus
 * gazetteer flags (B/I membership in the spec's list-slot phrases).
 */
import { type Token, wordShape } from './text.ts';

export interface FeatureSettings {
  buckets: number;
  minN: number;
  maxN: number;
  /** Upper bound on ids per token (the word, shape and the first n-grams); longer words are cut. */
  maxPerToken: number;
}

export const defaultFeatureSettings: FeatureSettings = {
  buckets: 1 << 15,
  minN: 3,
  maxN: 5,
  maxPerToken: 32,
};

/** FNV-1a over UTF-16 code units: fast, stable across platforms, no dependency. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const FNV_PRIME = 0x01000193;
/** FNV-1a state after the n-gram prefix "g:", so a gram is hashed from its characters without a string. */
const GRAM_SEED = [...'g:'].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), FNV_PRIME), 0x811c9dc5);

/**
 * Bucket ids of one normalised token; the first id is always the whole word. The character n-grams are
 * `fnv1a("g:" + gram)` over code points of "<norm>", hashed in place: building each gram string was most
 * of the time of a parse with new words.
 */
export function tokenFeatureIds(norm: string, s: FeatureSettings): number[] {
  const ids = [fnv1a(`w:${norm}`) % s.buckets];
  const shape = wordShape(norm);
  if (shape) ids.push(fnv1a(`s:${shape}`) % s.buckets);
  const chars = [...`<${norm}>`];
  for (let n = s.minN; n <= s.maxN && ids.length < s.maxPerToken; n++) {
    for (let i = 0; i + n <= chars.length && ids.length < s.maxPerToken; i++) {
      let h = GRAM_SEED;
      let units = 0;
      for (let k = i; k < i + n; k++) {
        const c = chars[k]!;
        for (let u = 0; u < c.length; u++) h = Math.imul(h ^ c.charCodeAt(u), FNV_PRIME);
        units += c.length;
      }
      // the whole word "<ab>" is already the word id (compared as the gram's UTF-16 length, as ever)
      if (units === chars.length) continue;
      ids.push((h >>> 0) % s.buckets);
    }
  }
  return ids;
}

/** Feature ids per token, padded to the longest token: ids [T*K] and mean-pooling weights [T*K] (0 = padding). */
export interface SentenceFeatures {
  length: number;
  width: number;
  ids: Int32Array;
  weights: Float32Array;
  /** Gazetteer flags [T * gazDim]. */
  gaz: Float32Array;
}

export interface Gazetteer {
  /** Slot names, in feature order; each contributes a B and an I flag. */
  names: string[];
  /** Normalised phrases (tokens joined by one space) per slot name. */
  phrases: string[][];
}

export function gazetteerDim(gaz: Gazetteer): number {
  return gaz.names.length * 2;
}

const CACHE_LIMIT = 20_000;

/** Storage a caller reuses across sentences (the run-time parser): `featurize` grows it as needed. */
export interface FeatureBuffers {
  ids: Int32Array;
  weights: Float32Array;
}

/**
 * With `buffers`, `ids` and `weights` are zero-filled views into them, valid until the next call with the
 * same buffers (a parse feeds them to onnxruntime at once; training keeps its features, so it passes none).
 */
export function featurize(
  tokens: readonly Token[],
  s: FeatureSettings,
  gaz: Gazetteer,
  cache?: Map<string, number[]>,
  buffers?: FeatureBuffers,
): SentenceFeatures {
  // plain loops: this runs on every parse, and closures/spreads were a third of the ONNX run time
  const length = tokens.length;
  const perToken = new Array<number[]>(length);
  let width = 1;
  for (let t = 0; t < length; t++) {
    const norm = tokens[t]!.norm;
    let ids = cache?.get(norm);
    if (!ids) {
      ids = tokenFeatureIds(norm, s);
      if (cache) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(norm, ids);
      }
    }
    perToken[t] = ids;
    if (ids.length > width) width = ids.length;
  }
  const size = length * width;
  if (buffers && buffers.ids.length < size) {
    buffers.ids = new Int32Array(size);
    buffers.weights = new Float32Array(size);
  }
  const ids = buffers ? buffers.ids.subarray(0, size).fill(0) : new Int32Array(size);
  const weights = buffers ? buffers.weights.subarray(0, size).fill(0) : new Float32Array(size);
  for (let t = 0; t < length; t++) {
    const p = perToken[t]!;
    const w = 1 / p.length;
    const o = t * width;
    for (let k = 0; k < p.length; k++) {
      ids[o + k] = p[k]!;
      weights[o + k] = w;
    }
  }
  return { length, width, ids, weights, gaz: gazetteerFlags(tokens, gaz) };
}

/** Word trie of every gazetteer phrase; `slots`: the slots whose phrase ends at this node. */
interface PhraseNode {
  next: Map<string, PhraseNode>;
  slots: number[];
}

const phraseTrieCache = new WeakMap<Gazetteer, PhraseNode>();

function phraseTrie(gaz: Gazetteer): PhraseNode {
  let root = phraseTrieCache.get(gaz);
  if (!root) {
    // one trie over all slots: a parse walks it once from each token, however many phrases there are
    root = { next: new Map(), slots: [] };
    gaz.phrases.forEach((phrases, g) => {
      for (const p of phrases) {
        let node = root!;
        for (const word of p.split(' ')) {
          let child = node.next.get(word);
          if (!child) {
            child = { next: new Map(), slots: [] };
            node.next.set(word, child);
          }
          node = child;
        }
        if (!node.slots.includes(g)) node.slots.push(g);
      }
    });
    phraseTrieCache.set(gaz, root);
  }
  return root;
}

const NO_FLAGS = new Float32Array(0);

export function gazetteerFlags(tokens: readonly Token[], gaz: Gazetteer): Float32Array {
  const dim = gazetteerDim(gaz);
  if (dim === 0) return NO_FLAGS;
  const flags = new Float32Array(tokens.length * dim);
  markGazetteer(tokens, gaz, flags, 0, dim, 1);
  return flags;
}

/**
 * Sets the flag of token t, flag channel c at `out[base + t * tokenStride + c * channelStride]` (the caller
 * zeroes `out`): token-major for training, channel-major straight into the run-time parser's graph input.
 */
export function markGazetteer(
  tokens: readonly Token[],
  gaz: Gazetteer,
  out: Float32Array,
  base: number,
  tokenStride: number,
  channelStride: number,
): void {
  const root = phraseTrie(gaz);
  for (let t = 0; t < tokens.length; t++) {
    let node = root.next.get(tokens[t]!.norm);
    for (let end = t; node; node = ++end < tokens.length ? node.next.get(tokens[end]!.norm) : undefined) {
      for (const g of node.slots) {
        out[base + t * tokenStride + 2 * g * channelStride] = 1;
        for (let j = t + 1; j <= end; j++) out[base + j * tokenStride + (2 * g + 1) * channelStride] = 1;
      }
    }
  }
}
