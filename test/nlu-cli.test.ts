import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const bin = new URL('../agent/sling.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sling-nlu-cli-'));
const sling = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input, timeout: 120_000 });

describe('sling train / parse / predict / eval', { timeout: 240_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('train a spec, then parse, predict and eval with it', () => {
    const spec = join(dir, 'door.yaml');
    writeFileSync(
      spec,
      `slots:
  door: { type: list, values: { front: [front door, front], garage: [garage door, garage] } }
intents:
  door.open:
    templates: ["(open|unlock) the {door} [please]", "let me in (through|by) the {door}"]
  door.close:
    templates: ["(close|shut|lock) the {door} [please]", "(close|shut) the {door} behind me"]
  door.status:
    examples: [is the front door open, "is the [garage](door) locked", are the doors closed]
`,
    );
    const model = join(dir, 'door');
    const train = sling(['train', spec, '--out', model, '--seed', '2']);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stdout, /wrote .*3 intents/);
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    // same spec, same seed → the same graph, byte for byte
    const again = sling(['train', spec, '--out', join(dir, 'door2'), '--seed', '2', '--quiet']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(
      JSON.parse(readFileSync(join(dir, 'door2', 'manifest.json'), 'utf8')).model.sha256,
      manifest.model.sha256,
    );
    assert.equal(manifest.model.precision, 'int8');
    assert.ok(manifest.threshold > 0 && manifest.threshold < 1);

    const parsed = sling(['parse', 'please unlock the garage', '--model', model, '--json']);
    assert.equal(parsed.status, 0, parsed.stderr);
    const result = JSON.parse(parsed.stdout);
    assert.equal(result.intent, 'door.open');
    assert.deepEqual(
      result.slots.map((s: { value: string; start: number }) => [s.value, s.start]),
      [['garage', 18]],
    );

    const predicted = sling(['predict', '--model', model], '{"text": "shut the front door"}\nnot json\n');
    assert.equal(predicted.status, 0, predicted.stderr);
    const [first, second] = predicted.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(first.intent, 'door.close');
    assert.equal(first.understood, true);
    assert.deepEqual(first.tags, ['O', 'O', 'B-door', 'I-door']);
    assert.match(second.error, /line 2/);

    const data = join(dir, 'test.jsonl');
    writeFileSync(
      data,
      [
        {
          tokens: ['open', 'the', 'front', 'door'],
          tags: ['O', 'O', 'B-door', 'I-door'],
          intent: 'door.open',
        },
        { tokens: ['lock', 'the', 'garage'], tags: ['O', 'O', 'B-door'], intent: 'door.close' },
        { text: 'what is the capital of peru', intent: null },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const evaluated = sling(['eval', '--model', model, '--data', data, '--json']);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const report = JSON.parse(evaluated.stdout);
    assert.equal(report.metrics.count, 2);
    assert.equal(report.metrics.intentAccuracy, 1);
    assert.equal(report.metrics.slotF1, 1);
    assert.equal(report.metrics.outOfScope.recall, 1);
    assert.ok(report.latencyMs.p50 > 0);
  });

  test('a malformed spec fails with file and line, a missing model with a clear error', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'intents:\n  go:\n    templates:\n      - "go to {place}"\n');
    const r = sling(['train', bad, '--out', join(dir, 'bad')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.yaml:4: intent "go": unknown slot "place"/);
    const p = sling(['parse', 'hello', '--model', join(dir, 'nowhere')]);
    assert.equal(p.status, 1);
    assert.match(p.stderr, /manifest\.json: cannot read the model manifest: ENOENT/);
  });

  test('options that cannot work together are refused before any training', () => {
    const spec = join(dir, 'door.yaml');
    for (const [args, message] of [
      [
        ['--fine-tune', '2', '--keep-channels', '32'],
        /--fine-tune does not combine with --distill or pruning/,
      ],
      [['--fine-tune', '0'], /--fine-tune must be a whole number ≥ 1/],
      [['--teacher-augment', '1'], /--teacher-augment needs a teacher/],
      // an infinite weight would train a model of NaNs
      [['--intent-weight', 'Infinity'], /--intent-weight must be a finite number > 0/],
      [['--label-smoothing', '1'], /--label-smoothing must be in \[0, 1\)/],
      // parseFloat/parseInt would have read these as 2 and 3
      [['--intent-weight', '2abc'], /--intent-weight must be a number, got 2abc/],
      [['--epochs', '3x'], /--epochs must be a whole number, got 3x/],
      [['--dilations', '1,2.5'], /--dilations must be a whole number, got 2.5/],
    ] as const) {
      const r = sling(['train', spec, '--out', join(dir, 'refused'), ...args]);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(existsSync(join(dir, 'refused')), false);
    }
  });
});
