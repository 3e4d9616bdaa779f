import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { type Heard, pocketSphinxFromDir, VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { ENROLLED_CONTRAST_MARGIN } from '../../agent/ingress/voice/enrol/adapt.ts';
import { DEFAULT_HMM } from '../../agent/ingress/voice/pocketsphinx.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { buildFixtureGrammar, speech, withSilence } from '../helpers/speech.ts';

// Real espeak-ng speech → `sling voice prompts` / `sling voice enrol` (real sphinxtrain) → PocketSphinx with
// the adapted model. Measured accuracy lives in bench:voice (VOICE_BENCH_ENROL=1), not here.
let root: string;
let grammarDir: string;
let recordings: string;
let model: string;

const sling = (args: string[]) =>
  new Promise<{ code: number; out: string; err: string }>((done) =>
    execFile(
      process.execPath,
      [resolve(projectRoot, 'agent/sling.js'), ...args],
      { timeout: 120000 },
      (error, out, err) => done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    ),
  );

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'sling-enrol-'));
  grammarDir = await buildFixtureGrammar();
  recordings = join(root, 'recordings');
  model = join(root, 'state', 'acoustic');
});
after(() => rmSync(root, { recursive: true, force: true }));

test('sling voice prompts writes grammar sentences to record, sling voice enrol adapts the model to them', async () => {
  const prompts = await sling([
    'voice',
    'prompts',
    '--grammar',
    grammarDir,
    '--count',
    '8',
    '--dir',
    recordings,
  ]);
  assert.equal(prompts.code, 0, prompts.err);
  const texts = readdirSync(recordings)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  assert.equal(texts.length, 8);
  // The "speaker" reads each prompt; the last transcript does not say what was recorded.
  for (const t of texts) {
    const clip = await speech(readFileSync(join(recordings, t), 'utf8').trim(), 'en-us+f3', 160);
    writeFileSync(
      join(recordings, t.replace('.txt', '.wav')),
      withSilence([clip.samples], clip.sampleRate, 0.4),
    );
  }
  writeFileSync(join(recordings, texts[7]!), 'the quick brown fox jumps over the lazy dog again and again\n');

  const enrolled = await sling(['voice', 'enrol', recordings, '--out', model]);
  assert.equal(enrolled.code, 0, enrolled.err);
  assert.match(
    enrolled.out,
    /enrolled: 7 of 8 recordings \(\d+(\.\d)? s\) adapted the acoustic model \(MAP\)/,
  );
  assert.match(
    enrolled.out,
    new RegExp(`not used \\(transcript did not match the audio\\?\\): .*${texts[7]}`),
  );
  assert.match(enrolled.out, /acousticModel: /, 'says how to use it');
  assert.match(enrolled.err, /note: 8 recordings; 30 adapt the model measurably/);

  const record = JSON.parse(readFileSync(join(model, 'enrolment.json'), 'utf8'));
  assert.equal(record.method, 'map');
  assert.equal(record.aligned, 7);
  assert.equal(record.baseModel, DEFAULT_HMM);
  assert.equal(record.contrastMargin, ENROLLED_CONTRAST_MARGIN);
  assert.equal(
    record.denoised,
    true,
    'recordings pass voice.denoise (on by default), as the recogniser hears',
  );
  for (const f of ['means', 'variances', 'sendump', 'transition_matrices']) {
    assert.equal(
      statSync(join(model, f)).size,
      statSync(join(DEFAULT_HMM, f)).size,
      `${f}: same shape as the base`,
    );
  }
  assert.notDeepEqual(
    readFileSync(join(model, 'means')),
    readFileSync(join(DEFAULT_HMM, 'means')),
    'means adapted',
  );
  assert.notDeepEqual(
    readFileSync(join(model, 'sendump')),
    readFileSync(join(DEFAULT_HMM, 'sendump')),
    'weights adapted',
  );
});

test('the recogniser decodes with the enrolled model; a model directory missing files is refused at start', async () => {
  // The enrolled model's wider contrast margin applies to words without their own; the per-word ones stay.
  const withModel = pocketSphinxFromDir(grammarDir, 0.5, { acousticModel: model });
  const without = pocketSphinxFromDir(grammarDir, 0.5);
  assert.equal(withModel.options.calibration?.contrastMargin, ENROLLED_CONTRAST_MARGIN);
  assert.equal(without.options.calibration?.contrastMargin, undefined, 'the grammar default (500) applies');
  assert.equal(withModel.options.hmm, model);
  assert.equal(
    pocketSphinxFromDir(grammarDir, 0.5, { calibration: { contrastMargin: 7 }, acousticModel: model }).options
      .calibration?.contrastMargin,
    7,
    'an explicit calibration (benchmarks) still wins',
  );
  // Enrolled on denoised recordings (voice.denoise on by default), so it decodes denoised audio; the speaker's
  // commands must come out accepted, and fit the adapted model better than the base one.
  const commands = ['turn on the kitchen light', 'drive forward two meters'];
  const clips = await Promise.all(commands.map((c) => speech(c, 'en-us+f3', 160)));
  const audio = withSilence(
    clips.map((c) => c.samples),
    clips[0]!.sampleRate,
  );
  const hear = async (acousticModel?: string) => {
    const engine = await VoiceEngine.open({
      grammarDir,
      minConfidence: 0.5,
      denoise: true,
      ...(acousticModel ? { acousticModel } : {}),
    });
    try {
      return await engine.listenFile(audio);
    } finally {
      await engine.close();
    }
  };
  const [enrolledHeard, baseHeard] = [await hear(model), await hear()];
  assert.deepEqual(
    enrolledHeard.map((h) => h.recognition.accepted),
    [true, true],
  );
  // "light" or "lights": 7 recordings do not settle the plural (the base model hears "lights" too).
  assert.match(enrolledHeard[0]!.recognition.text, /^turn on the kitchen lights?$/);
  assert.equal(enrolledHeard[1]!.recognition.text, 'drive forward two meters');
  const perFrame = (h: Heard) =>
    Number(h.recognition.detail?.grammarAcoustic) / Number(h.recognition.detail?.frames);
  for (const [i, h] of enrolledHeard.entries()) {
    assert.ok(
      perFrame(h) > perFrame(baseHeard[i]!),
      `"${commands[i]}": adapted ${perFrame(h).toFixed(0)} per frame, base ${perFrame(baseHeard[i]!).toFixed(0)}`,
    );
  }
  const broken = join(root, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'mdef'), '');
  await assert.rejects(
    VoiceEngine.open({ grammarDir, minConfidence: 0.5, acousticModel: broken }),
    /acoustic model .*broken lacks means, variances, transition_matrices, feat\.params, noisedict, sendump/,
  );
});

test('sling doctor reports the enrolled model, and fails with the fix when voice.acousticModel is broken', async () => {
  const { checkVoice } = await import('../../agent/ingress/voice/doctor.ts');
  const { resolveConfig } = await import('../../agent/config/load.ts');
  const config = (voice: object) => resolveConfig({ name: 't', text: JSON.stringify({ voice }) });
  const ok = checkVoice(config({ grammar: grammarDir, acousticModel: model }));
  assert.equal(ok.status, 'pass', ok.detail);
  assert.match(
    ok.detail,
    /enrolled acoustic model .*acoustic \(MAP, 7 of 8 recordings, [\d.]+ s, \d{4}-\d\d-\d\d\)/,
  );
  assert.match(ok.detail, /noise suppression on/);
  // Adapted on denoised recordings, decoding unprocessed audio: it fits the wrong sound.
  const mismatch = checkVoice(config({ grammar: grammarDir, acousticModel: model, denoise: false }));
  assert.equal(mismatch.status, 'warn');
  assert.match(mismatch.detail, /adapted on denoised recordings but voice\.denoise is false/);
  assert.match(mismatch.fix ?? '', /enrol <recordings> again/);
  const bad = checkVoice(
    config({ enabled: true, grammar: grammarDir, acousticModel: join(root, 'nowhere') }),
  );
  assert.equal(bad.status, 'fail');
  assert.match(bad.detail, /enrolled acoustic model .*nowhere \(mdef, means/);
  assert.match(bad.fix ?? '', /npx sling voice enrol <recordings>/);
});

test('sling voice enrol refuses bad input with what and where, and leaves no model behind', async () => {
  const dir = join(root, 'bad');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.wav'), encodeWav(new Float32Array(16000), 16000));
  let r = await sling(['voice', 'enrol', dir, '--out', join(root, 'none')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /bad: no transcript \(\.txt\) for a\.wav/);
  writeFileSync(join(dir, 'a.txt'), 'stop');
  writeFileSync(join(dir, 'b.wav'), 'not a wav file');
  writeFileSync(join(dir, 'b.txt'), 'go');
  r = await sling(['voice', 'enrol', dir, '--out', join(root, 'none')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /enrollment failed: .*b\.wav \(.*b\.txt\): /);
  assert.throws(() => statSync(join(root, 'none')), /ENOENT/);
  const manifest = join(root, 'm.tsv');
  writeFileSync(manifest, 'a.wav stop\n');
  r = await sling(['voice', 'enrol', manifest]);
  assert.equal(r.code, 1);
  assert.match(r.err, /m\.tsv:1: expected "<file\.wav><TAB><what was said>"/);
});
