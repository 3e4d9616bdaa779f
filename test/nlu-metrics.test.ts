import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bioSpans, ViterbiDecoder, viterbi } from '../models/factory/decode.ts';
import { allowedStarts, allowedTransitions, bioTags } from '../models/factory/labels.ts';
import { computeMetrics, type Judged } from '../models/factory/metrics.ts';
import { calibrateThreshold } from '../models/factory/train.ts';

const span = (slot: string, start: number, end: number) => ({ slot, start, end });

describe('metrics (hand-computed)', () => {
  test('intent accuracy, CoNLL span F1 and exact match', () => {
    const items: Judged[] = [
      // right intent, both spans right
      {
        goldIntent: 'a',
        predIntent: 'a',
        understood: true,
        goldSpans: [span('x', 0, 0), span('y', 2, 3)],
        predSpans: [span('x', 0, 0), span('y', 2, 3)],
      },
      // right intent, one span with the wrong end, one spurious span
      {
        goldIntent: 'a',
        predIntent: 'a',
        understood: true,
        goldSpans: [span('x', 1, 2)],
        predSpans: [span('x', 1, 1), span('y', 3, 3)],
      },
      // wrong intent, right span, one missed span (wrong label counts as miss + spurious)
      {
        goldIntent: 'b',
        predIntent: 'a',
        understood: true,
        goldSpans: [span('z', 0, 1), span('x', 4, 4)],
        predSpans: [span('z', 0, 1), span('y', 4, 4)],
      },
      // right intent, no spans either side
      { goldIntent: 'b', predIntent: 'b', understood: false, goldSpans: [], predSpans: [] },
    ];
    const m = computeMetrics(items);
    // correct spans 3, predicted 6, gold 5
    assert.equal(m.count, 4);
    assert.equal(m.intentAccuracy, 3 / 4);
    assert.equal(m.slotPrecision, 3 / 6);
    assert.equal(m.slotRecall, 3 / 5);
    assert.ok(Math.abs(m.slotF1 - (2 * 0.5 * 0.6) / 1.1) < 1e-12);
    assert.equal(m.exactMatch, 2 / 4);
    assert.equal(m.outOfScope, undefined);
  });

  test('out-of-scope precision and recall', () => {
    const j = (goldIntent: string | null, understood: boolean): Judged => ({
      goldIntent,
      predIntent: 'a',
      understood,
      goldSpans: [],
      predSpans: [],
    });
    // 3 negatives: 2 rejected; 1 in-scope wrongly rejected
    const m = computeMetrics([j(null, false), j(null, false), j(null, true), j('a', false), j('a', true)]);
    assert.deepEqual(m.outOfScope, { precision: 2 / 3, recall: 2 / 3, negatives: 3 });
    assert.equal(m.count, 2);
    assert.equal(m.intentAccuracy, 1);
  });

  test('duplicate spans are matched once each', () => {
    const m = computeMetrics([
      {
        goldIntent: 'a',
        predIntent: 'a',
        understood: true,
        goldSpans: [span('x', 0, 0)],
        predSpans: [span('x', 0, 0), span('x', 0, 0)],
      },
    ]);
    assert.equal(m.slotPrecision, 0.5);
    assert.equal(m.slotRecall, 1);
  });
});

describe('decoding', () => {
  test('constrained Viterbi never starts or continues a span illegally', () => {
    const tags = bioTags(['room']); // O, B-room, I-room
    const crf = {
      tags: 3,
      transitions: new Float32Array(9),
      start: new Float32Array(3),
      end: new Float32Array(3),
      allowed: allowedTransitions(tags),
      allowedStart: allowedStarts(tags),
    };
    // unconstrained argmax per token would be I-room, O, I-room
    const emissions = Float32Array.from([0, 1, 2, 3, 0, 0, 0, 1, 2]);
    const path = viterbi(emissions, 3, crf).map((i) => tags[i]);
    assert.deepEqual(path, ['B-room', 'O', 'B-room']);
    const before = new ViterbiDecoder(crf);
    crf.transitions[1 * 3 + 2] = 5; // B-room → I-room strongly preferred
    assert.deepEqual(
      viterbi(Float32Array.from([0, 2, 0, 0, 0, 1]), 2, crf).map((i) => tags[i]),
      ['B-room', 'I-room'],
    );
    // a decoder snapshots the parameters it was made with
    assert.deepEqual(
      viterbi(emissions, 3, crf).map((i) => tags[i]),
      ['B-room', 'B-room', 'I-room'],
    );
    assert.deepEqual(
      before.decode(emissions, 3).map((i) => tags[i]),
      ['B-room', 'O', 'B-room'],
    );
    assert.deepEqual(bioSpans(['B-a', 'I-a', 'O', 'I-b', 'B-a']), [
      { slot: 'a', first: 0, last: 1 },
      { slot: 'b', first: 3, last: 3 },
      { slot: 'a', first: 4, last: 4 },
    ]);
  });

  test('the pruned Viterbi equals a plain exhaustive Viterbi', () => {
    const tags = bioTags(Array.from({ length: 20 }, (_, i) => `s${i}`));
    const n = tags.length;
    let seed = 7;
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
    const reference = (e: Float32Array, T: number) => {
      let score = Array.from({ length: n }, (_, j) =>
        crf.allowedStart[j] ? crf.start[j]! + e[j]! : -Infinity,
      );
      const back: number[][] = [];
      for (let t = 1; t < T; t++) {
        const row: number[] = [];
        score = Array.from({ length: n }, (_, j) => {
          let best = -Infinity;
          let arg = 0;
          for (let i = 0; i < n; i++) {
            if (!crf.allowed[i * n + j]) continue;
            const s = score[i]! + crf.transitions[i * n + j]!;
            if (s > best) [best, arg] = [s, i];
          }
          row.push(arg);
          return best + e[t * n + j]!;
        });
        back.push(row);
      }
      let last = 0;
      for (let j = 1; j < n; j++) if (score[j]! + crf.end[j]! > score[last]! + crf.end[last]!) last = j;
      const path = [last];
      for (let t = T - 1; t > 0; t--) path.unshift(back[t - 1]![path[0]!]!);
      return path;
    };
    // one decoder for every round: its reused buffers must not carry anything between sentences
    const decoder = new ViterbiDecoder(crf);
    for (let r = 0; r < 300; r++) {
      const T = 1 + ((r * 7) % 12);
      // flat random emissions (worst case for the pruning) and peaked ones (what a trained model emits)
      const e = Float32Array.from({ length: T * n }, () => rand() * (r % 2 ? 2 : 12));
      assert.deepEqual(viterbi(e, T, crf), reference(e, T), `round ${r}`);
      assert.deepEqual(decoder.decode(e, T), reference(e, T), `round ${r}, reused decoder`);
    }
  });

  test('threshold calibration takes the middle of the best gap', () => {
    const t = calibrateThreshold([
      { confidence: 0.1, positive: false },
      { confidence: 0.3, positive: false },
      { confidence: 0.7, positive: true },
      { confidence: 0.9, positive: true },
    ]);
    assert.ok(Math.abs(t - 0.5) < 1e-9, String(t));
  });

  test('threshold calibration weighs both classes the same, however many sentences each has', () => {
    // 41 right in-scope sentences (3 of them unsure, at 0.6) and 4 negatives (2 of them at 0.8). Counting
    // errors cuts at 0.4 (2 negatives accepted beat 3 in-scope refused); the balanced error refuses 3/41 of
    // the in-scope sentences rather than accept half the negatives
    const scores = [
      ...Array.from({ length: 38 }, () => ({ confidence: 0.99, positive: true })),
      ...Array.from({ length: 3 }, () => ({ confidence: 0.6, positive: true })),
      { confidence: 0.8, positive: false },
      { confidence: 0.8, positive: false },
      { confidence: 0.1, positive: false },
      { confidence: 0.2, positive: false },
    ];
    const t = calibrateThreshold(scores);
    assert.ok(Math.abs(t - 0.895) < 1e-9, String(t));
    assert.equal(scores.filter((s) => !s.positive && s.confidence >= t).length, 0);
  });
});
