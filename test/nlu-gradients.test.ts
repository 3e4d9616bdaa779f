import assert from 'node:assert/strict';
import { test } from 'node:test';
import { featurize } from '../models/factory/features.ts';
import { allowedStarts, allowedTransitions, bioTags } from '../models/factory/labels.ts';
import {
  backward,
  crfCache,
  crfLoss,
  forward,
  initParams,
  type ModelConfig,
  type Params,
  softmax,
} from '../models/factory/model.ts';
import { mulberry32 } from '../models/factory/rng.ts';
import { tokenize } from '../models/factory/text.ts';

test('hand-written backward pass matches finite differences', () => {
  const tags = bioTags(['a', 'b']);
  const config: ModelConfig = {
    buckets: 64,
    dim: 6,
    gazDim: 2,
    hidden: 5,
    kernel: 3,
    dilations: [1, 2],
    intents: 3,
    tags: tags.length,
  };
  const params = initParams(config, mulberry32(5));
  const rng = mulberry32(9);
  for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i]! += (rng() - 0.5) * 0.2;
  const settings = { buckets: 64, minN: 2, maxN: 3, maxPerToken: 8 };
  const gaz = { names: ['a'], phrases: [['blue lamp']] };
  const f = featurize(tokenize('turn the blue lamp on now'), settings, gaz);
  const gold = Int32Array.from([0, 0, 1, 2, 0, 3]);
  const intent = 2;
  const allowed = allowedTransitions(tags);
  const starts = allowedStarts(tags);
  const loss = (p: Params, grads?: Params) => {
    const a = forward(config, p, f);
    const probs = softmax(a.intentLogits);
    const g = grads ?? Object.fromEntries(Object.entries(p).map(([k, v]) => [k, new Float32Array(v.length)]));
    const dE = new Float32Array(a.emissions.length);
    const crf = crfLoss(
      a.emissions,
      a.T,
      tags.length,
      gold,
      p,
      crfCache(p, allowed, starts, tags.length),
      dE,
      g,
    );
    if (grads) {
      probs[intent]! -= 1;
      backward(config, p, f, a, probs, dE, grads, new Set());
      return 0;
    }
    return crf - Math.log(softmax(a.intentLogits)[intent]!);
  };
  const grads = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, new Float32Array(v.length)]));
  loss(params, grads);
  let checked = 0;
  for (const [name, p] of Object.entries(params)) {
    const g = grads[name]!;
    // the largest gradients of each tensor, where float32 finite differences are meaningful
    const order = [...g.keys()].sort((x, y) => Math.abs(g[y]!) - Math.abs(g[x]!)).slice(0, 3);
    for (const i of order) {
      if (Math.abs(g[i]!) < 1e-3) continue;
      const keep = p[i]!;
      const h = 1e-2;
      p[i] = keep + h;
      const up = loss(params);
      p[i] = keep - h;
      const down = loss(params);
      p[i] = keep;
      const numeric = (up - down) / (2 * h);
      assert.ok(
        Math.abs(numeric - g[i]!) <= 0.03 * Math.abs(g[i]!) + 2e-3,
        `${name}[${i}]: analytic ${g[i]} numeric ${numeric}`,
      );
      checked++;
    }
  }
  assert.ok(checked >= 20, `checked ${checked}`);
});
