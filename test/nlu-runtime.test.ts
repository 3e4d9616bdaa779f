import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { loadParser, type OnnxParser } from '../agent/nlu/index.ts';
import { readModelDir } from '../agent/nlu/model-dir.ts';
import { createGraphSession } from '../agent/nlu/session.ts';
import { fromProjectRoot } from '../agent/paths.ts';
import { ViterbiDecoder, viterbi } from '../models/factory/decode.ts';
import { featurize } from '../models/factory/features.ts';
import { allowedStarts, allowedTransitions, bioTags } from '../models/factory/labels.ts';
import { normalizeWord, tokenize } from '../models/factory/text.ts';

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

describe('Viterbi decoder reuse', () => {
  it('a decoder reused across sentences of any length decodes like a fresh viterbi()', () => {
    const tags = bioTags(Array.from({ length: 12 }, (_, i) => `s${i}`));
    const n = tags.length;
    let seed = 11;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const crf = {
      tags: n,
      transitions: Float32Array.from({ length: n * n }, () => (rand() - 0.5) * 4),
      start: Float32Array.from({ length: n }, () => rand() - 0.5),
      end: Float32Array.from({ length: n }, () => rand() - 0.5),
      allowed: allowedTransitions(tags),
      allowedStart: allowedStarts(tags),
    };
    const decoder = new ViterbiDecoder(crf);
    for (const T of [9, 1, 17, 3, 17, 2, 30, 5]) {
      const e = Float32Array.from({ length: T * n }, () => rand() * (T % 2 ? 2 : 12));
      assert.deepEqual(decoder.decode(e, T), viterbi(e, T, crf), `length ${T}`);
    }
    assert.deepEqual(decoder.decode(new Float32Array(0), 0), []);
  });

  it('snapshots the parameters: changing them later does not change the decoder', () => {
    const tags = bioTags(['room']);
    const crf = {
      tags: 3,
      transitions: new Float32Array(9),
      start: new Float32Array(3),
      end: new Float32Array(3),
      allowed: allowedTransitions(tags),
      allowedStart: allowedStarts(tags),
    };
    const decoder = new ViterbiDecoder(crf);
    const e = Float32Array.from([0, 2, 0, 0, 0, 1]);
    const before = decoder.decode(e, 2);
    crf.transitions[1 * 3 + 2] = 5;
    assert.deepEqual(decoder.decode(e, 2), before);
    assert.deepEqual(viterbi(e, 2, crf), [1, 2], 'a fresh viterbi() sees the new transitions');
  });
});

describe('normalisation fast path', () => {
  // the full unicode pipeline, as the contract defines it
  const reference = (word: string) =>
    word
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[‘’`´]/g, "'")
      .replace(/[‐‑‒–—]/g, '-');

  it('ASCII words normalise exactly as through the unicode steps', () => {
    const ascii = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i));
    const words = [
      ascii,
      'Don`t',
      'HELLO',
      'x-ray',
      'AbC123',
      ...readFileSync(fromProjectRoot('README.md'), 'utf8').split(/\s+/),
    ];
    for (const word of words) assert.equal(normalizeWord(word), reference(word), JSON.stringify(word));
  });

  it('other scripts still take the unicode steps', () => {
    for (const word of ['Clásicos’', 'ŒUVRE', 'ﬁne', 'straße', '—dash–', 'İstanbul', 'Ⅻ']) {
      assert.equal(normalizeWord(word), reference(word), word);
    }
  });
});
