import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { loadParser, type OnnxParser } from '../agent/nlu/index.ts';
import { readModelDir } from '../agent/nlu/model-dir.ts';
import { createGraphSession } from '../agent/nlu/session.ts';
import { fromProjectRoot } from '../agent/paths.ts';
import {
  defaultFeatureSettings,
  type FeatureSettings,
  featurize,
  fnv1a,
  tokenFeatureIds,
} from '../models/factory/features.ts';
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
