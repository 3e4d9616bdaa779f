/** The ONNX-backed Parser: text → features (shared with training) → int8 graph → Viterbi → ParseResult. */
import type { Manifest } from '../../models/factory/artifact.ts';
import { type CrfParams, IntentSlotAgreement, ViterbiDecoder } from '../../models/factory/decode.ts';
import { type FeatureBuffers, featurize, tokenFeatureIds } from '../../models/factory/features.ts';
import { allowedStarts, allowedTransitions } from '../../models/factory/labels.ts';
import { hasWordChar, tokenize } from '../../models/factory/text.ts';
import { type SplitGraph, splitEmbedding } from './embedding-split.ts';
import { tokenizeFast } from './fast-tokenize.ts';
import { GazetteerMatcher } from './gazetteer-match.ts';
import { readModelDir } from './model-dir.ts';
import { createGraphSession, type GraphSession } from './session.ts';
import { resolveSlotValue } from './slot-values.ts';
import type { IntentScore, ParseResult, Parser, SlotMatch } from './types.ts';
import { WordCache } from './word-cache.ts';

export interface ParserOptions {
  /** onnxruntime intra-op threads (default 1: one utterance is too small to split). */
  threads?: number;
  /** Refuse longer inputs (default: the manifest's limit). */
  maxChars?: number;
  /** Which graph to run: the shipped int8 `model` (default) or the `fp32` twin when the directory has one. */
  graph?: 'model' | 'fp32';
  /** How many alternatives to report (default 3). */
  alternatives?: number;
  /** onnxruntime entry point (default 'native', see session.ts; 'public' for tests comparing both). */
  session?: 'native' | 'public';
  /**
   * Compute the embedding bag in JS and run only the rest of the graph (default true; see embedding-split.ts).
   * false runs the whole graph, as a test compares.
   */
  splitEmbedding?: boolean;
}

/** Words whose pooled embedding the parser keeps (48 floats each: about 0.8 MB when full). */
const WORD_CACHE_LIMIT = 4096;

/** Raw model outputs for one sentence (exposed for tests and benchmarks). */
export interface RawOutput {
  intentLogits: Float32Array;
  emissions: Float32Array;
  length: number;
}

export class OnnxParser implements Parser {
  readonly crf: CrfParams;
  private readonly maxChars: number;
  private readonly alternatives: number;
  /** Graphs written before ids became int32 (early models/default) take int64 ids. */
  private readonly int64Ids: boolean;
  /** Feature ids of recently seen words: hashing n-grams is most of the featurisation time. */
  private readonly idCache = new Map<string, number[]>();
  private readonly decoder: ViterbiDecoder;
  /** Present when the manifest lists each intent's slots (decode.ts). */
  private readonly agreement: IntentSlotAgreement | undefined;
  /**
   * Feature storage reused by every parse, only with the native session: it reads the features synchronously,
   * before another parse can start (the public API reads them later, so concurrent parses need their own).
   */
  private readonly buffers: FeatureBuffers | undefined;
  /** Reused like `buffers`, for the split graph's input. */
  private convInput = new Float32Array(0);
  /** The native session's input over `convInput`, by token count. */
  private convFeeds: NativeFeeds[] = [];
  /** Pooled embedding and gazetteer word number of recent words (split graph only). */
  private readonly words: WordCache | undefined;
  private readonly gazetteer: GazetteerMatcher | undefined;
  /** Per-parse scratch: each token's gazetteer word number. */
  private gazWords = new Int32Array(64);
  /** Per tag number, what bioSpans reads of its name: O or not, its slot, an I- tag or not. */
  private readonly tagIsO: boolean[];
  private readonly tagSlot: string[];
  private readonly tagInside: boolean[];

  constructor(
    readonly manifest: Manifest,
    readonly session: GraphSession,
    private readonly ort: typeof import('onnxruntime-node'),
    options: ParserOptions = {},
    /** Set when `session` runs only the graph's tail (the embedding bag is computed here). */
    private readonly split?: SplitGraph,
  ) {
    this.maxChars = options.maxChars ?? manifest.limits.maxChars;
    this.alternatives = options.alternatives ?? 3;
    this.int64Ids = session.inputType('ids') === 'int64';
    this.crf = {
      tags: manifest.tags.length,
      transitions: Float32Array.from(manifest.crf.transitions),
      start: Float32Array.from(manifest.crf.start),
      end: Float32Array.from(manifest.crf.end),
      allowed: allowedTransitions(manifest.tags),
      allowedStart: allowedStarts(manifest.tags),
    };
    this.decoder = new ViterbiDecoder(this.crf);
    if (manifest.intentSlots) {
      this.agreement = new IntentSlotAgreement(
        manifest.intents,
        manifest.tags,
        manifest.intentSlots,
        manifest.noneIntent,
      );
    }
    this.tagIsO = manifest.tags.map((t) => t === 'O');
    this.tagSlot = manifest.tags.map((t) => t.slice(2));
    this.tagInside = manifest.tags.map((t) => t.startsWith('I-'));
    if (split && manifest.config.gazDim > 0) this.gazetteer = new GazetteerMatcher(manifest.gazetteer);
    if (split) this.words = new WordCache(split.table.dim, WORD_CACHE_LIMIT);
    if (session.kind === 'native') this.buffers = { ids: new Int32Array(0), weights: new Float32Array(0) };
  }

  /** The embedding table the JS embedding bag reads (undefined when the whole graph runs). */
  get embeddingTable(): SplitGraph['table'] | undefined {
    return this.split?.table;
  }

  /** Where the embedding bag is computed: in JS before the graph's tail, or by the whole graph. */
  get embeddingBag(): 'js' | 'graph' {
    return this.split ? 'js' : 'graph';
  }

  /** Runs the graph on already tokenised text. */
  async run(tokens: ReturnType<typeof tokenize>): Promise<RawOutput> {
    return this.runGraph(tokens);
  }

  /** Synchronous with the native session: a parse then awaits nothing it does not need to. */
  private runGraph(tokens: ReturnType<typeof tokenize>): RawOutput | Promise<RawOutput> {
    const feeds = this.split ? this.splitFeeds(tokens, this.split) : this.graphFeeds(tokens);
    const length = tokens.length;
    const out = this.session.run(feeds);
    return out instanceof Promise ? out.then((o) => rawOutput(o, length)) : rawOutput(out, length);
  }

  private graphFeeds(tokens: ReturnType<typeof tokenize>): Record<string, OrtTensor> {
    const m = this.manifest;
    const f = featurize(tokens, m.features, m.gazetteer, this.idCache, this.buffers);
    const feeds: Record<string, OrtTensor> = {
      ids: this.int64Ids
        ? new this.ort.Tensor('int64', BigInt64Array.from(f.ids, BigInt), [f.length, f.width])
        : new this.ort.Tensor('int32', f.ids, [f.length, f.width]),
      weights: new this.ort.Tensor('float32', f.weights, [f.length, f.width]),
    };
    if (m.config.gazDim > 0) feeds.gaz = new this.ort.Tensor('float32', f.gaz, [f.length, m.config.gazDim]);
    return feeds;
  }

  /** The convolution input [1, channels, T]: each token's mean embedding row, then its gazetteer flags. */
  private splitFeeds(tokens: ReturnType<typeof tokenize>, split: SplitGraph): Record<string, OrtTensor> {
    const T = tokens.length;
    const size = split.channels * T;
    let feeds: NativeFeeds | undefined;
    let input: Float32Array;
    if (this.buffers) {
      if (this.convInput.length < size) {
        this.convInput = new Float32Array(size);
        this.convFeeds = [];
      }
      feeds = this.convFeeds[T];
      if (!feeds) {
        // what the native session reads of a tensor, as plain properties (a Tensor's data and location are
        // getters it would call); made once per token count
        const data = this.convInput.subarray(0, size);
        feeds = { data, value: { location: 'cpu', type: 'float32', dims: [1, split.channels, T], data } };
        this.convFeeds[T] = feeds;
      }
      input = feeds.data;
    } else input = new Float32Array(size);
    const dim = split.table.dim;
    if (this.gazWords.length < T) this.gazWords = new Int32Array(T);
    const gazWords = this.gazWords;
    const words = this.words!;
    for (let t = 0; t < T; t++) {
      const norm = tokens[t]!.norm;
      let slot = words.find(norm);
      if (slot < 0) {
        // features first: a word is only cached once nothing can fail before its vector is written
        const ids = tokenFeatureIds(norm, this.manifest.features);
        const gazetteerWord = this.gazetteer ? this.gazetteer.wordNumber(norm) : -1;
        slot = words.add(norm, gazetteerWord);
        split.table.mean(ids, words.vectors, slot * dim);
      }
      // read after add(): it may have moved the vectors
      const vectors = words.vectors;
      const o = slot * dim;
      for (let d = 0; d < dim; d++) input[d * T + t] = vectors[o + d]!;
      gazWords[t] = words.gazetteer[slot]!;
    }
    if (this.gazetteer) {
      input.fill(0, dim * T);
      this.gazetteer.mark(gazWords, T, input, dim * T, 1, T);
    }
    const tensor = feeds
      ? (feeds.value as unknown as OrtTensor)
      : new this.ort.Tensor('float32', input, [1, split.channels, T]);
    return { [split.input]: tensor };
  }

  async parse(text: string): Promise<ParseResult> {
    return (await this.parseDetailed(text)).result;
  }

  /** parse() plus the BIO tag of every token (one token per whitespace-separated word). */
  async parseDetailed(text: string): Promise<{ result: ParseResult; tags: string[] }> {
    const started = performance.now();
    // no closure made per parse: (under tsx) each is also named with Object.defineProperty
    try {
      if (typeof text !== 'string') return refusal(text, 'input is not text', started);
      if (BLANK.test(text)) return refusal(text, 'empty input', started);
      if (text.length > this.maxChars)
        return refusal(text, `input longer than ${this.maxChars} characters`, started);
      if (!hasWordChar(text)) return refusal(text, 'input has no letters or digits', started);
      const tokens = tokenizeFast(text);
      if (tokens.length > this.manifest.limits.maxTokens) {
        return refusal(text, `input has more than ${this.manifest.limits.maxTokens} words`, started);
      }
      const inferenceStart = performance.now();
      let raw = this.runGraph(tokens);
      if (raw instanceof Promise) raw = await raw;
      const inferenceMs = performance.now() - inferenceStart;
      const m = this.manifest;
      const probs = softmax(raw.intentLogits);
      // the intents but none, by confidence, equals in model order (what a stable sort gives)
      const ranked: IntentScore[] = [];
      for (let i = 0; i < m.intents.length; i++) {
        const intent = m.intents[i]!;
        if (intent === m.noneIntent) continue;
        const score = { intent, confidence: probs[i]! };
        let pos = ranked.length;
        ranked.push(score);
        while (pos > 0 && ranked[pos - 1]!.confidence < score.confidence) {
          ranked[pos] = ranked[pos - 1]!;
          pos--;
        }
        ranked[pos] = score;
      }
      let path = this.decoder.decode(raw.emissions, raw.length);
      const agreed = this.agreement?.choose(probs, raw.emissions, raw.length, this.decoder, path);
      if (agreed) {
        // the intent that agrees with its tags goes first; the others keep their order
        const at = ranked.findIndex((s) => s.intent === m.intents[agreed.intent]);
        ranked.unshift(...ranked.splice(at, 1));
        path = agreed.path;
      }
      const top = ranked[0]!;
      const tags = new Array<string>(path.length);
      const slots: SlotMatch[] = [];
      // bioSpans over tag numbers: an I- tag continues the span just before it with the same slot
      const tagSlot = this.tagSlot;
      let first = -1;
      for (let i = 0; i < path.length; i++) {
        const tag = path[i]!;
        tags[i] = m.tags[tag]!;
        if (first >= 0 && !(this.tagInside[tag] && tagSlot[tag] === tagSlot[path[first]!])) {
          slots.push(this.slotMatch(text, tokens, first, i - 1, tagSlot[path[first]!]!));
          first = -1;
        }
        if (first < 0 && !this.tagIsO[tag]) first = i;
      }
      if (first >= 0)
        slots.push(this.slotMatch(text, tokens, first, path.length - 1, tagSlot[path[first]!]!));
      const result: ParseResult = {
        text,
        intent: top.confidence >= m.threshold ? top.intent : null,
        topIntent: top.intent,
        confidence: top.confidence,
        slots,
        alternatives: ranked.slice(1, 1 + this.alternatives),
        timing: { totalMs: performance.now() - started, inferenceMs },
      };
      return { result, tags };
    } catch (error) {
      return refusal(text, `parser failed: ${(error as Error).message}`, started);
    }
  }

  private slotMatch(
    text: string,
    tokens: ReturnType<typeof tokenize>,
    firstToken: number,
    lastToken: number,
    name: string,
  ): SlotMatch {
    const first = tokens[firstToken]!;
    const last = tokens[lastToken]!;
    const slotText = text.slice(first.start, last.end);
    let normalized = first.norm;
    for (let t = firstToken + 1; t <= lastToken; t++) normalized += ` ${tokens[t]!.norm}`;
    const info = this.manifest.slots[name];
    const match: SlotMatch = {
      name,
      text: slotText,
      start: first.start,
      end: last.end,
      value: resolveSlotValue(info, slotText, normalized, this.manifest.lists),
    };
    if (info) match.type = info.type;
    return match;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

const BLANK = /^\s*$/;

type OrtTensor = InstanceType<typeof import('onnxruntime-node').Tensor>;

interface NativeFeeds {
  data: Float32Array;
  value: { location: 'cpu'; type: 'float32'; dims: number[]; data: Float32Array };
}

function rawOutput(out: Record<string, { data: unknown }>, length: number): RawOutput {
  return {
    intentLogits: out.intent_logits!.data as Float32Array,
    emissions: out.emissions!.data as Float32Array,
    length,
  };
}

function refusal(text: unknown, error: string, started: number): { result: ParseResult; tags: string[] } {
  return {
    result: {
      text: typeof text === 'string' ? text : '',
      intent: null,
      topIntent: null,
      confidence: 0,
      slots: [],
      alternatives: [],
      error,
      timing: { totalMs: performance.now() - started },
    },
    tags: typeof text === 'string' ? tokenize(text).map(() => 'O') : [],
  };
}

function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/**
 * Loads a model directory (manifest.json + model.onnx), verifies the graph's sha256 and size against the
 * manifest and creates the onnxruntime session once. Throws ModelLoadError on a missing/altered model.
 */
export async function loadParser(dir: string, options: ParserOptions = {}): Promise<OnnxParser> {
  const verified = readModelDir(dir, options.graph ?? 'model');
  const ort = await import('onnxruntime-node');
  const split =
    options.splitEmbedding === false
      ? undefined
      : splitEmbedding(verified.onnx, verified.manifest.config.gazDim);
  const session = await createGraphSession(
    ort,
    split?.tail ?? verified.onnx,
    {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      // disable_quant_qdq: the int8 weights are dequantized once at load (constant folding), not on every run
      // (0.25 → 0.045 ms on SNIPS), and no int8 kernels that also quantize the activations are swapped in, so
      // the graph computes what training measured. 'extended' then fuses Conv+Relu and Transpose+MatMul
      // (22 → 18 nodes, about 4 µs less per parse); outputs checked bit-identical to 'basic' on 15k sentences.
      // The split tail's 2-D convolutions run with the blocked-channel kernels of level 'all' (embedding-split.ts).
      graphOptimizationLevel: split ? 'all' : 'extended',
      extra: { session: { disable_quant_qdq: '1' } },
    },
    options.session ?? 'native',
  );
  return new OnnxParser(verified.manifest, session, ort, options, split);
}
