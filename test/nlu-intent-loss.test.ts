import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { softmax } from '../models/factory/model.ts';
import { intentLoss } from '../models/factory/shards.ts';
import { trainModel } from '../models/factory/train.ts';
import { smallHomeInput } from './helpers/nlu.ts';

const lossOf = (logits: number[], gold: number, smoothing: number, weight: number) => {
  let total = 0;
  const probs = softmax(Float32Array.from(logits));
  intentLoss(probs, gold, smoothing, weight, (l) => (total += l));
  return { total, grad: probs };
};

describe('intent loss weight and label smoothing (--intent-weight, --label-smoothing)', {
  timeout: 120_000,
}, () => {
  test('the gradient is weight × (softmax − smoothed target) and matches finite differences', () => {
    const logits = [0.3, -1.2, 2.0, 0.5];
    for (const [smoothing, weight] of [
      [0, 1],
      [0.1, 1],
      [0, 2],
      [0.2, 3],
    ] as const) {
      const { total, grad } = lossOf(logits, 1, smoothing, weight);
      // by hand: q = (1 - e)·one-hot + e/K
      const p = softmax(Float32Array.from(logits));
      const q = logits.map((_, o) => (o === 1 ? 1 - smoothing : 0) + smoothing / logits.length);
      const expected = -weight * q.reduce((s, qo, o) => s + qo * Math.log(p[o]!), 0);
      assert.ok(Math.abs(total - expected) < 1e-5, `loss ${total} vs ${expected}`);
      for (let o = 0; o < logits.length; o++) {
        const h = 1e-3;
        const up = lossOf(
          logits.map((v, i) => (i === o ? v + h : v)),
          1,
          smoothing,
          weight,
        ).total;
        const down = lossOf(
          logits.map((v, i) => (i === o ? v - h : v)),
          1,
          smoothing,
          weight,
        ).total;
        assert.ok(Math.abs((up - down) / (2 * h) - grad[o]!) < 2e-3, `e ${smoothing} w ${weight} logit ${o}`);
      }
    }
    // smoothing keeps the loss above zero even when the gold class has all the mass
    assert.ok(lossOf([0, 0, 30], 2, 0.1, 1).total > 0.1);
    assert.ok(lossOf([0, 0, 30], 2, 0, 1).total < 1e-6);
  });

  test('a small spec trains with both options, the same bytes on one and two threads, and other weights than without them', async () => {
    await loadBuiltinEntities();
    const input = (workers: number, options: { intentWeight?: number; labelSmoothing?: number }) =>
      smallHomeInput({
        perTemplate: 5,
        seed: 5,
        workers,
        hyper: { hidden: 32, epochs: 3, patience: 3, ...options },
      });
    const options = { intentWeight: 2, labelSmoothing: 0.1 };
    const one = trainModel(input(1, options));
    const two = trainModel(input(2, options));
    for (const [name, p] of Object.entries(one.params)) {
      assert.deepEqual(two.params[name], p, `${name} differs between 1 and 2 threads`);
    }
    // the held-out tenth of the small spec is still understood
    assert.ok(one.devMetrics.intentAccuracy >= 0.95, `dev intent ${one.devMetrics.intentAccuracy}`);
    const plain = trainModel(input(1, {}));
    assert.notDeepEqual(plain.params['intent.w'], one.params['intent.w']);
  });
});
