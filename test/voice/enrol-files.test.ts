import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bwFeatureArgs, readFeatParams } from '../../agent/ingress/voice/enrol/adapt.ts';
import {
  alignedUtterances,
  CorpusError,
  controlFiles,
  corpusWords,
  parseManifest,
  recordingsInDir,
} from '../../agent/ingress/voice/enrol/corpus.ts';
import { enrolmentPrompts } from '../../agent/ingress/voice/enrol/prompts.ts';
import { mixtureWeightsFile, parseSendump } from '../../agent/ingress/voice/enrol/sphinx-files.ts';
import { DEFAULT_HMM } from '../../agent/ingress/voice/pocketsphinx.ts';

/** A sendump as PocketSphinx writes it: header strings, 0, #codewords, #pdfs, bytes per feature/codeword/pdf. */
function sendump(
  features: number,
  densities: number,
  senones: number,
  byte: (f: number, d: number, s: number) => number,
) {
  const str = (s: string) => {
    const b = Buffer.alloc(4 + s.length + 1);
    b.writeInt32LE(s.length + 1, 0);
    b.write(s, 4, 'latin1');
    return b;
  };
  const ints = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    for (const [i, x] of v.entries()) b.writeInt32LE(x, 4 * i);
    return b;
  };
  const data = Buffer.alloc(features * densities * senones);
  let at = 0;
  for (let f = 0; f < features; f++)
    for (let d = 0; d < densities; d++) for (let s = 0; s < senones; s++) data[at++] = byte(f, d, s);
  return Buffer.concat([
    str('BEGIN FILE FORMAT DESCRIPTION'),
    str(`feature_count ${features}`),
    ints(0, densities, senones),
    data,
  ]);
}

test('sendump → mixture weights: dequantised (1.0001^-(q<<10)), transposed to senone-major, rows sum to 1', () => {
  // Density 0 quantised 0 (weight 1), density 1 quantised 7 (1.0001^-7168 ≈ 0.488) before normalising.
  const m = parseSendump(sendump(2, 2, 3, (_f, d, s) => (d === 0 ? 0 : s === 2 ? 0 : 7)));
  assert.deepEqual([m.senones, m.features, m.densities], [3, 2, 2]);
  const w1 = 1.0001 ** -(7 << 10);
  const row = (s: number, f: number) => Array.from(m.weights.subarray((s * 2 + f) * 2, (s * 2 + f) * 2 + 2));
  for (const f of [0, 1]) {
    assert.ok(Math.abs(row(0, f)[0]! - 1 / (1 + w1)) < 1e-6);
    assert.ok(Math.abs(row(1, f)[1]! - w1 / (1 + w1)) < 1e-6);
    assert.deepEqual(row(2, f), [0.5, 0.5], 'equal bytes → equal weights');
  }
  const file = mixtureWeightsFile(m);
  const text = file.toString('latin1', 0, file.indexOf('endhdr\n') + 7);
  assert.match(text, /^s3\nversion 1\.0\n *endhdr\n$/);
  assert.equal(text.length % 4, 0, 'data 4-byte aligned');
  const body = file.subarray(text.length);
  assert.equal(body.readUInt32LE(0), 0x11223344);
  assert.deepEqual(
    [1, 2, 3, 4].map((i) => body.readInt32LE(4 * i)),
    [3, 2, 2, 12],
  );
  assert.equal(body.length, 20 + 12 * 4);
  assert.ok(Math.abs(body.readFloatLE(20) - 1 / (1 + w1)) < 1e-6);
});

test("Debian's en-us sendump reads as 5126 senones × 3 streams × 128 densities of proper distributions", () => {
  const m = parseSendump(readFileSync(`${DEFAULT_HMM}/sendump`));
  assert.deepEqual([m.senones, m.features, m.densities], [5126, 3, 128]);
  for (const row of [0, 777, 5126 * 3 - 1]) {
    const sum = m.weights.subarray(row * 128, row * 128 + 128).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `row ${row} sums to ${sum}`);
  }
});

test('a truncated or clustered sendump is refused with the reason', () => {
  const good = sendump(1, 2, 2, () => 3);
  assert.throws(() => parseSendump(good.subarray(0, good.length - 1)), /weight bytes, expected 4/);
  assert.throws(() => parseSendump(good.subarray(0, 10)), /sendump: (truncated|bad header)/);
  const b = Buffer.alloc(4 + 16);
  b.writeInt32LE(16, 0);
  b.write('cluster_count 8', 4, 'latin1');
  assert.throws(() => parseSendump(Buffer.concat([b, Buffer.alloc(12)])), /clustered/);
});

test('manifest: <wav><TAB><text> lines, relative to the manifest, digits and units as spoken words', () => {
  const recs = parseManifest(
    '# me\n\na.wav\tTurn the light to 30 percent.\n/abs/b.WAV\tdrive 2 m\n',
    '/data/m.tsv',
  );
  assert.deepEqual(
    recs.map((r) => [r.wav, r.words.join(' '), r.source]),
    [
      ['/data/a.wav', 'turn the light to thirty percent', '/data/m.tsv:3'],
      ['/abs/b.WAV', 'drive two meters', '/data/m.tsv:4'],
    ],
  );
  assert.throws(
    () => parseManifest('a.wav turn on\n', 'm.tsv'),
    (e) => e instanceof CorpusError && /m\.tsv:1: expected/.test(e.message),
  );
  assert.throws(() => parseManifest('a.mp3\tturn on\n', 'm.tsv'), /m\.tsv:1: a\.mp3 is not a \.wav file/);
  assert.throws(() => parseManifest('x\n\na.wav\t?!\n', 'm.tsv'), /m\.tsv:1/);
  assert.throws(() => parseManifest('a.wav\t?!\n', 'm.tsv'), /m\.tsv:1: empty transcript/);
});

test('directory: x.wav with x.txt beside it; a recording without its words (or the reverse) is an error', () => {
  const texts: Record<string, string> = { '/r/01.txt': 'stop', '/r/02.txt': 'turn on the lamp\n' };
  const read = (f: string) => texts[f]!;
  const recs = recordingsInDir('/r', ['02.wav', '01.wav', '01.txt', '02.txt', 'notes.md'], read);
  assert.deepEqual(
    recs.map((r) => [r.wav, r.words.join(' ')]),
    [
      ['/r/01.wav', 'stop'],
      ['/r/02.wav', 'turn on the lamp'],
    ],
  );
  assert.throws(
    () => recordingsInDir('/r', ['01.wav', '01.txt', '02.wav'], read),
    /no transcript \(\.txt\) for 02\.wav/,
  );
  assert.throws(
    () => recordingsInDir('/r', ['01.wav', '01.txt', '02.txt'], read),
    /no recording \(\.wav\) for 02\.txt/,
  );
  const files = controlFiles(recs);
  assert.equal(files.fileids, 'utt0001\nutt0002\n');
  assert.equal(files.transcription, '<s> stop </s> (utt0001)\n<s> turn on the lamp </s> (utt0002)\n');
  assert.deepEqual(corpusWords(recs), ['lamp', 'on', 'stop', 'the', 'turn']);
});

test("bw's log: aligned utterances, without those it ignored", () => {
  const log = [
    'utt>     0                   utt0001  361    0   116 21  8 7 2.7e-102 -1.5e+02 -5.4e+04 utt 0.011x',
    'ERROR: "backward.c", line 421: Failed to align audio to trancript: final state of the search is not reached',
    'ERROR: "baum_welch.c", line 324: utt0002 ignored',
    'utt>     1                   utt0002  279    0   176 58  utt 0.012x 1.773e',
    'utt>     2                   utt0003  345    0   112 20  7 7 2.1e-102 -1.5e+02 -5.2e+04 utt 0.011x',
  ].join('\n');
  assert.deepEqual([...alignedUtterances(log)], ['utt0001', 'utt0003']);
});

test('feat.params → bw feature options (decoder-only options left out; ptm models tie to .ptm.)', () => {
  const params = readFeatParams(readFileSync(`${DEFAULT_HMM}/feat.params`, 'utf8'));
  assert.deepEqual(bwFeatureArgs(params), [
    ...['-feat', '1s_c_d_dd', '-svspec', '0-12/13-25/26-38', '-cmn', 'batch', '-varnorm', 'no'],
    ...['-agc', 'none', '-ts2cbfn', '.ptm.'],
  ]);
  assert.equal(bwFeatureArgs(new Map([['model', 'cont']])).at(-1), '.cont.');
});

test('enrollment prompts: distinct grammar commands, repeatable by seed, never an excluded sentence', () => {
  const jsgf = [
    '#JSGF V1.0;',
    'grammar g;',
    '<room> = kitchen | bedroom | hall;',
    'public <one> = (turn | switch) (on | off) the <room> light [please];',
  ].join('\n');
  const a = enrolmentPrompts(jsgf, { count: 6, seed: 3 });
  assert.equal(a.length, 6);
  assert.equal(new Set(a).size, 6);
  assert.deepEqual(enrolmentPrompts(jsgf, { count: 6, seed: 3 }), a);
  for (const p of a) assert.match(p, /^(turn|switch) (on|off) the (kitchen|bedroom|hall) light( please)?$/);
  const exclude = new Set(a.slice(0, 3));
  const b = enrolmentPrompts(jsgf, { count: 6, seed: 3, exclude });
  assert.ok(b.every((p) => !exclude.has(p)));
  // Only 24 sentences exist: asking for more returns them all rather than looping forever.
  assert.equal(enrolmentPrompts(jsgf, { count: 50 }).length, 24);
  assert.throws(
    () => enrolmentPrompts('#JSGF V1.0;\ngrammar g;\npublic <x> = a;', { count: 1 }),
    /no <one> rule/,
  );
});
