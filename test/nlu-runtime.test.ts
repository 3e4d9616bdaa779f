import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Float16Array, f16round } from '@petamoriken/float16';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { EmbeddingTable, splitEmbedding } from '../agent/nlu/embedding-split.ts';
import { tokenizeFast } from '../agent/nlu/fast-tokenize.ts';
import { GazetteerMatcher } from '../agent/nlu/gazetteer-match.ts';
import { loadParser, type OnnxParser } from '../agent/nlu/index.ts';
import { readModelDir } from '../agent/nlu/model-dir.ts';
import { createGraphSession } from '../agent/nlu/session.ts';
import { WordCache } from '../agent/nlu/word-cache.ts';
import { fromProjectRoot } from '../agent/paths.ts';
import {
  defaultFeatureSettings,
  type FeatureSettings,
  featurize,
  fnv1a,
  gazetteerDim,
  gazetteerFlags,
  tokenFeatureIds,
} from '../models/factory/features.ts';
import { onnxModelType } from '../models/factory/onnx-proto.ts';
import { unpackInt4 } from '../models/factory/quantize.ts';
import { normalizeWord, tokenize, wordShape } from '../models/factory/text.ts';

// The run-time shortcuts of the parser (native session, 'extended' graph optimisation, reused Viterbi
// buffers, ASCII normalisation) must not change a single result.

const SENTENCES = [
  'turn on the kitchen light',
  'dim the lounge lights to 30 percent',
  'drive forward two meters then turn left',
  'DRIVE   Backwards half a metre!!',
  "what's the temperature in the kitchen",
  'set the bedroom light to blue please',
  'stop',
  'Crème brûlée — “order” it for the living room',
  'the quick brown fox jumps over the lazy dog',
  'turn off every light in the house and close the blinds',
];

describe('run-time parser shortcuts', () => {
  const dir = fromProjectRoot('models/default');
  let native: OnnxParser;
  let plain: OnnxParser;
  before(async () => {
    await loadBuiltinEntities();
    native = await loadParser(dir);
    plain = await loadParser(dir, { session: 'public' });
  });
  after(async () => {
    await native?.release();
    await plain?.release();
  });

  it('the native session parses exactly like the public onnxruntime API', async () => {
    assert.equal(
      native.session.kind,
      'native',
      'onnxruntime-node no longer has dist/binding.js: update session.ts',
    );
    assert.equal(plain.session.kind, 'public');
    for (const text of SENTENCES) {
      const a = await native.parseDetailed(text);
      const b = await plain.parseDetailed(text);
      assert.deepEqual({ ...a.result, timing: 0 }, { ...b.result, timing: 0 }, text);
      assert.deepEqual(a.tags, b.tags, text);
    }
  });

  it('the embedding bag computed in JS parses like the whole graph', async () => {
    const whole = await loadParser(dir, { splitEmbedding: false });
    assert.equal(native.embeddingBag, 'js');
    assert.equal(whole.embeddingBag, 'graph');
    const commands = readFileSync(fromProjectRoot('test/fixtures/commands.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split('|')[0]!);
    assert.ok(commands.length > 200);
    let worst = 0;
    for (const text of [...SENTENCES, ...commands]) {
      const a = await native.parseDetailed(text);
      const b = await whole.parseDetailed(text);
      // the same tags, intents and slots; only float summation order differs (JS vs onnxruntime's MatMul)
      assert.deepEqual(
        { ...a.result, timing: 0, confidence: 0, alternatives: a.result.alternatives.map((x) => x.intent) },
        { ...b.result, timing: 0, confidence: 0, alternatives: b.result.alternatives.map((x) => x.intent) },
        text,
      );
      assert.deepEqual(a.tags, b.tags, text);
      const tokens = tokenize(text);
      const [x, y] = [await native.run(tokens), await whole.run(tokens)];
      for (const [p, q] of [
        [x.intentLogits, y.intentLogits],
        [x.emissions, y.emissions],
      ] as const)
        p.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - q[i]!));
        });
    }
    await whole.release();
    assert.ok(worst < 1e-4, `max |logit difference| ${worst}`);
  });

  it('int4 rows dequantize to fp16(q × scale) exactly, with 3 roundings a row instead of 16', () => {
    for (const model of ['models/default', 'models/snips']) {
      const { manifest, onnx } = readModelDir(fromProjectRoot(model), 'model');
      const table = splitEmbedding(onnx, manifest.config.gazDim)!.table;
      assert.ok(table.scales, `${model} has a quantized table`);
      // the model's scales, and fp16 values at and beyond the shortcut's range (subnormal, large)
      const scales = [...table.scales, ...[2 ** -20, 2 ** -14, 3.1e-5, 4096, 5000, 0.1].map(f16round)];
      for (const s of scales) {
        const fast = EmbeddingTable.halfLut(s);
        for (let q = -8; q <= 7; q++)
          assert.equal(fast[q + 8], f16round(q * s), `${model}: q ${q}, scale ${s}`);
      }
    }
  });

  it('the embedding bag averages the packed int4 rows exactly as if dequantized first, for any word', () => {
    for (const model of ['models/default', 'models/snips']) {
      const { manifest, onnx } = readModelDir(fromProjectRoot(model), 'model');
      const table = splitEmbedding(onnx, manifest.config.gazDim)!.table;
      // the graph's own table: DequantizeLinear(emb.q int4, emb.scale fp16) → fp16 values
      const Model = onnxModelType();
      const graph = (
        Model.toObject(Model.decode(onnx), { longs: Number }) as {
          graph: { initializer: { name: string; raw_data: Uint8Array }[] };
        }
      ).graph;
      const raw = (name: string) => Uint8Array.from(graph.initializer.find((t) => t.name === name)!.raw_data);
      const q = unpackInt4(raw('emb.q'), table.rows * table.dim);
      const scales = Float32Array.from(new Float16Array(raw('emb.scale').buffer));
      const words = [...SENTENCES.flatMap((t) => tokenize(t).map((x) => x.norm)), 'zyxxquorp', 'a', '12:30'];
      for (const word of words) {
        const ids = tokenFeatureIds(word, manifest.features);
        const weight = Math.fround(1 / ids.length);
        const got = table.mean(ids);
        for (let d = 0; d < table.dim; d++) {
          let sum = 0;
          for (const id of ids) sum += weight * f16round(q[id * table.dim + d]! * scales[id]!);
          assert.equal(got[d], Math.fround(sum), `${model}: "${word}", dimension ${d}`);
        }
      }
    }
  });

  it('int8, unpacked int4 and fp32 tables average like their dequantized rows', () => {
    const rows = 20;
    const dim = 5;
    const q = Int8Array.from({ length: rows * dim }, (_, i) => ((i * 37) % 255) - 127);
    const q4 = q.map((v) => v >> 4);
    const scales = Float32Array.from({ length: rows }, (_, i) => Math.fround(0.001 * (i + 1)));
    const half = scales.map(f16round);
    const ids = [3, 0, 19, 7, 7];
    const weight = Math.fround(1 / ids.length);
    const cases: [EmbeddingTable, (id: number, d: number) => number][] = [
      [
        new EmbeddingTable(rows, dim, q, scales, false),
        (id, d) => Math.fround(q[id * dim + d]! * scales[id]!),
      ],
      [new EmbeddingTable(rows, dim, q4, half, true), (id, d) => f16round(q4[id * dim + d]! * half[id]!)],
      [new EmbeddingTable(rows, dim, Float32Array.from(q), undefined, false), (id, d) => q[id * dim + d]!],
    ];
    for (const [table, value] of cases) {
      const got = table.mean(ids);
      for (let d = 0; d < dim; d++) {
        let sum = 0;
        for (const id of ids) sum += weight * value(id, d);
        assert.equal(got[d], Math.fround(sum));
      }
    }
  });

  it('the gazetteer flags over word numbers are the ones training computed', () => {
    for (const model of ['models/default', 'models/snips']) {
      const { manifest } = readModelDir(fromProjectRoot(model), 'model');
      const gaz = manifest.gazetteer;
      const matcher = new GazetteerMatcher(gaz);
      // sentences full of phrases: each slot's phrases, two by two, with words around and inside
      const phrases = gaz.phrases.flatMap((list) => list.slice(0, 60));
      const texts = [...SENTENCES];
      for (let i = 0; i + 1 < phrases.length; i += 2)
        texts.push(`please ${phrases[i]} the ${phrases[i + 1]} ${phrases[i]!.split(' ')[0]}`);
      let flagged = 0;
      for (const text of texts) {
        const tokens = tokenize(text);
        const dim = gazetteerDim(gaz);
        const expected = gazetteerFlags(tokens, gaz);
        const got = new Float32Array(tokens.length * dim);
        const words = Int32Array.from(tokens, (t) => matcher.wordNumber(t.norm));
        matcher.mark(words, tokens.length, got, 0, dim, 1);
        assert.deepEqual(got, expected, text);
        flagged += expected.reduce((a, b) => a + b, 0);
      }
      assert.ok(flagged > texts.length, `${model}: ${flagged} flags in ${texts.length} sentences`);
    }
  });

  it('the ASCII tokenizer cuts and normalises exactly like tokenize', () => {
    const commands = readFileSync(fromProjectRoot('test/fixtures/commands.txt'), 'utf8').split('\n');
    // seeded random strings over letters, digits, punctuation, backticks, ASCII spaces and a few others
    const alphabet = [...'azAZm09@{ .,!?\'"`-:/()[]_\t\n\r\v\f\u0001~\u007f', 'é', '’', '\u00a0', '😀'];
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const generated = Array.from({ length: 3000 }, (_, i) => {
      const pool = i % 3 === 0 ? alphabet : alphabet.slice(0, -5); // two thirds stay ASCII
      return Array.from(
        { length: Math.floor(random() * 24) },
        () => pool[Math.floor(random() * pool.length)]!,
      ).join('');
    });
    const texts = [...SENTENCES, ...commands, ...generated, '', '   ', 'Don`t STOP', '``', '...', 'a\tb\nc'];
    for (const text of texts) assert.deepEqual(tokenizeFast(text), tokenize(text), JSON.stringify(text));
  });

  it('the word cache keeps vectors by slot as it grows, and starts over when full', () => {
    const cache = new WordCache(2, 300);
    for (let i = 0; i < 300; i++) {
      const slot = cache.add(`w${i}`, i % 7);
      cache.vectors.set([i, -i], slot * 2);
    }
    for (const i of [0, 255, 256, 299]) {
      const slot = cache.find(`w${i}`);
      assert.equal(slot, i);
      assert.deepEqual([...cache.vectors.subarray(slot * 2, slot * 2 + 2)], [i, -i]);
      assert.equal(cache.gazetteer[slot], i % 7);
    }
    assert.equal(cache.find('new'), -1);
    assert.equal(cache.add('new', 1), 0, 'full: it starts over');
    assert.equal(cache.find('w5'), -1);
  });

  it('a graph whose head is not the known embedding bag runs whole', () => {
    const { manifest, onnx } = readModelDir(dir, 'model');
    const split = splitEmbedding(onnx, manifest.config.gazDim);
    assert.equal(split?.channels, manifest.config.dim + manifest.config.gazDim);
    assert.equal(split?.table.rows, manifest.config.buckets);
    const Model = onnxModelType();
    const altered = (change: (nodes: { op_type: string; input: string[] }[]) => void) => {
      const m = Model.toObject(Model.decode(onnx)) as {
        graph: { node: { op_type: string; input: string[] }[] };
      };
      change(m.graph.node);
      return Model.encode(Model.fromObject(m)).finish();
    };
    // a max instead of the mean of the rows; ids gathered from another input; a gazetteer the manifest lacks
    const matmul = (n: { op_type: string }[]) => n.find((x) => x.op_type === 'MatMul')!;
    assert.equal(
      splitEmbedding(
        altered((n) => {
          matmul(n).op_type = 'Max';
        }),
        manifest.config.gazDim,
      ),
      undefined,
    );
    const gather = (n: { op_type: string; input: string[] }[]) => n.find((x) => x.op_type === 'Gather')!;
    assert.equal(
      splitEmbedding(
        altered((n) => {
          gather(n).input[1] = 'weights';
        }),
        14,
      ),
      undefined,
    );
    assert.equal(splitEmbedding(onnx, 0), undefined);
  });

  it("'extended' graph optimisation gives bit-identical outputs to 'basic'", async () => {
    const ort = await import('onnxruntime-node');
    const { manifest, onnx } = readModelDir(dir, 'model');
    const options = (level: 'basic' | 'extended') => ({
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      graphOptimizationLevel: level,
      extra: { session: { disable_quant_qdq: '1' } },
    });
    const basic = await createGraphSession(ort, onnx, options('basic'));
    const extended = await createGraphSession(ort, onnx, options('extended'));
    for (const text of SENTENCES) {
      const f = featurize(tokenize(text), manifest.features, manifest.gazetteer);
      const feeds = {
        ids: new ort.Tensor('int32', f.ids, [f.length, f.width]),
        weights: new ort.Tensor('float32', f.weights, [f.length, f.width]),
        gaz: new ort.Tensor('float32', f.gaz, [f.length, manifest.config.gazDim]),
      };
      const a = await basic.run(feeds);
      const b = await extended.run(feeds);
      for (const name of ['intent_logits', 'emissions']) {
        const bytes = (d: unknown) => Buffer.from((d as Float32Array).buffer);
        assert.ok(bytes(a[name]!.data).equals(bytes(b[name]!.data)), `${name} differs for "${text}"`);
      }
    }
    await basic.release();
    await extended.release();
  });
});

describe('normalisation fast path', () => {
  // A non-ASCII letter sends a word down the unicode steps; 'é' normalises to 'e' and touches nothing
  // before it, so word + 'é' checks the ASCII shortcut against the full contract without restating it.
  it('ASCII words normalise exactly as through the unicode steps', () => {
    const ascii = String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 32 + i));
    const words = [
      ascii,
      'Don`t',
      'HELLO',
      'x-ray',
      'AbC123',
      ...readFileSync(fromProjectRoot('README.md'), 'utf8').split(/\s+/),
    ].filter((w) => !/[^ -~]/.test(w));
    assert.ok(words.length > 1000);
    for (const word of words) assert.equal(`${normalizeWord(word)}e`, normalizeWord(`${word}é`), word);
  });

  it('other scripts still take the unicode steps', () => {
    assert.equal(normalizeWord('Clásicos’'), "clasicos'");
    assert.equal(normalizeWord('ŒUVRE'), 'œuvre');
    assert.equal(normalizeWord('ﬁne'), 'fine');
    assert.equal(normalizeWord('—dash–'), '-dash-');
  });
});

describe('feature ids', () => {
  // the definition: word, shape, then fnv1a("g:" + gram) of each code-point n-gram of "<word>" but the whole
  const byStrings = (norm: string, s: FeatureSettings) => {
    const ids = [fnv1a(`w:${norm}`) % s.buckets];
    const shape = wordShape(norm);
    if (shape) ids.push(fnv1a(`s:${shape}`) % s.buckets);
    const chars = [...`<${norm}>`];
    for (let n = s.minN; n <= s.maxN; n++) {
      for (let i = 0; i + n <= chars.length; i++) {
        const gram = chars.slice(i, i + n).join('');
        if (gram.length !== chars.length) ids.push(fnv1a(`g:${gram}`) % s.buckets);
      }
    }
    return ids.slice(0, s.maxPerToken);
  };

  it('n-grams hashed in place give the ids of the gram strings (astral characters included)', () => {
    const words = [
      ...new Set(tokenize(readFileSync(fromProjectRoot('README.md'), 'utf8')).map((t) => t.norm)),
      'a',
      '',
      '12:30',
      'naïve',
      '😀',
      'a😀',
      '😀😀b',
      'x𝒳y',
      '👍🏽ok',
    ];
    assert.ok(words.length > 1000);
    const settings = [
      defaultFeatureSettings,
      { buckets: 1000, minN: 2, maxN: 6, maxPerToken: 64 },
      { buckets: 8192, minN: 1, maxN: 3, maxPerToken: 8 },
    ];
    for (const s of settings) {
      for (const word of words) assert.deepEqual(tokenFeatureIds(word, s), byStrings(word, s), word);
    }
  });
});
