import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareReports, maxConfidenceDelta, referenceProblems } from './agree.ts';
import type { WorkerReport, WorkerSentence } from './protocol.ts';

function sentence(text: string, overrides: Partial<WorkerSentence> = {}): WorkerSentence {
  return {
    text,
    intent: 'robot.move',
    confidence: 0.9,
    slots: [{ name: 'distance', text: 'two meters', value: { meters: 2 } }],
    plan: { actions: [{ device: 'robot', action: 'move', params: { meters: 2 } }], reply: 'moving 2 m' },
    errors: [],
    parseMs: 1,
    ...overrides,
  };
}

function report(arch: string, sentences: WorkerSentence[]): WorkerReport {
  return { arch, node: 'v20', onnxruntime: '1.30.0', modelLoadMs: 1, sentences, nativeDeps: {} };
}

test('identical decisions with slightly different confidences and timings agree', () => {
  const x64 = report('x64', [
    sentence('a'),
    sentence('b', { intent: null, plan: { actions: [], reply: 'no' } }),
  ]);
  const arm = report('arm64', [
    sentence('a', { confidence: 0.905, parseMs: 40 }),
    sentence('b', { intent: null, plan: { actions: [], reply: 'no' }, parseMs: 30 }),
  ]);
  assert.deepEqual(compareReports(x64, arm), []);
  assert.ok(Math.abs(maxConfidenceDelta(x64, arm) - 0.005) < 1e-9);
});

test('a different intent, slot value, plan parameter, large confidence gap or missing sentence is reported', () => {
  const x64 = report(
    'x64',
    ['i', 's', 'p', 'c', 'm'].map((t) => sentence(t)),
  );
  const arm = report('arm64', [
    sentence('i', { intent: 'robot.turn' }),
    sentence('s', { slots: [{ name: 'distance', text: 'two meters', value: { meters: 3 } }] }),
    sentence('p', {
      plan: { actions: [{ device: 'robot', action: 'move', params: { meters: 3 } }], reply: 'moving 2 m' },
    }),
    sentence('c', { confidence: 0.5 }),
  ]);
  const fields = compareReports(x64, arm).map((d) => `${d.text}:${d.field}`);
  assert.deepEqual(fields, ['i:intent', 's:slots', 'p:plan', 'c:confidence', 'm:missing']);
});

test('a NaN confidence on one side is a disagreement, not a pass', () => {
  const problems = compareReports(
    report('x64', [sentence('a')]),
    report('arm64', [sentence('a', { confidence: Number.NaN })]),
  );
  assert.deepEqual(
    problems.map((p) => p.field),
    ['confidence'],
  );
});

test('different parse errors on the two machines are a disagreement', () => {
  const failed = { intent: null, errors: ['parser failed: Unexpected input data type'] };
  const problems = compareReports(report('x64', [sentence('a')]), report('arm64', [sentence('a', failed)]));
  assert.deepEqual(
    problems.map((p) => p.field),
    ['intent', 'errors'],
  );
});

test('the reference must understand every in-scope sentence: failing alike on both machines is no pass', () => {
  const broken = { intent: null, errors: ['parser failed: Unexpected input data type'] };
  const x64 = report('x64', [
    sentence('ok'),
    sentence('broken', broken),
    sentence('compound half', { intent: 'robot.move + -' }),
    sentence('out of scope', { intent: null }),
  ]);
  const arm = report('arm64', x64.sentences);
  assert.deepEqual(compareReports(x64, arm), []);
  const problems = referenceProblems(x64, ['ok', 'broken', 'compound half', 'absent']);
  assert.deepEqual(
    problems.map((p) => `${p.text}:${p.x64}`),
    ['broken:parser failed: Unexpected input data type', 'compound half:robot.move + -', 'absent:undefined'],
  );
});
