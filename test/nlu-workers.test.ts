import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { shardRange } from '../models/factory/shards.ts';
import { expandSpec, loadSpec, specGazetteer } from '../models/factory/spec.ts';
import { defaultHyper, type TrainInput, trainModel } from '../models/factory/train.ts';

const specFile = new URL('./fixtures/nlu/home.yaml', import.meta.url).pathname;

function smallInput(workers: number): TrainInput {
  const spec = loadSpec(specFile);
  return {
    train: expandSpec(spec, 5),
    gazetteer: specGazetteer(spec),
    features: { buckets: 4096, minN: 3, maxN: 5, maxPerToken: 24 },
    hyper: { ...defaultHyper, dim: 16, hidden: 32, dilations: [1, 2], epochs: 2, patience: 2 },
    seed: 5,
    workers,
  };
}

describe('training on worker threads', { timeout: 120_000 }, () => {
  test('shards cover a batch exactly once, in order', () => {
    for (const [n, shards] of [
      [16, 2],
      [5, 2],
      [1, 2],
      [7, 3],
    ] as const) {
      const covered: number[] = [];
      for (let s = 0; s < shards; s++) {
        const [from, to] = shardRange(n, shards, s);
        for (let i = from; i < to; i++) covered.push(i);
      }
      assert.deepEqual(
        covered,
        Array.from({ length: n }, (_, i) => i),
        `${n} in ${shards}`,
      );
    }
  });

  test('the same seed gives the same weights with one thread and with two gradient workers', async () => {
    await loadBuiltinEntities();
    const one = trainModel(smallInput(1));
    const two = trainModel(smallInput(2));
    assert.deepEqual(Object.keys(two.params), Object.keys(one.params));
    for (const [name, p] of Object.entries(one.params)) {
      const q = two.params[name]!;
      assert.equal(
        Buffer.compare(
          Buffer.from(p.buffer, p.byteOffset, p.byteLength),
          Buffer.from(q.buffer, q.byteOffset, q.byteLength),
        ),
        0,
        `${name} differs`,
      );
    }
    assert.equal(two.threshold, one.threshold);
    assert.deepEqual(two.devMetrics, one.devMetrics);
    // a different seed must change the weights (the comparison above can fail)
    const other = trainModel({ ...smallInput(2), seed: 6 });
    assert.notDeepEqual(other.params['conv0.w'], one.params['conv0.w']);
  });
});
