import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { shardRange } from '../models/factory/shards.ts';
import { type TrainInput, trainModel } from '../models/factory/train.ts';
import { smallHomeInput } from './helpers/nlu.ts';

const smallInput = (workers: number): TrainInput =>
  smallHomeInput({ perTemplate: 5, seed: 5, workers, hyper: { hidden: 32, epochs: 2, patience: 2 } });

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
