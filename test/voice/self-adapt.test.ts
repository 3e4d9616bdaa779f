import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { parseManifest } from '../../agent/ingress/voice/enrol/corpus.ts';
import { HEARD_MANIFEST, HeardStore, overflow } from '../../agent/ingress/voice/enrol/heard-store.ts';
import { readEnrolment } from '../../agent/ingress/voice/enrol/model-dir.ts';
import { adaptationDue, SelfAdaptation, worthKeeping } from '../../agent/ingress/voice/enrol/self-adapt.ts';
import type { PocketSphinxRecognizer } from '../../agent/ingress/voice/pocketsphinx.ts';
import { DEFAULT_HMM } from '../../agent/ingress/voice/pocketsphinx.ts';
import type { Recognition } from '../../agent/ingress/voice/recognizer.ts';
import { buildFixtureGrammar, speech, withSilence } from '../helpers/speech.ts';

// Self-adaptation: commands the agent accepted, kept with the words it heard, adapt the acoustic model (real
// espeak-ng speech, real PocketSphinx, real sphinxtrain). What it gains is measured in bench:voice
// (VOICE_BENCH_ENROL=heard), not here.
let root: string;
let grammarDir: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'sling-self-adapt-'));
  grammarDir = await buildFixtureGrammar();
});
after(() => rmSync(root, { recursive: true, force: true }));

const recognition = (text: string, extra: Partial<Recognition> = {}): Recognition => ({
  text,
  confidence: 0.9,
  accepted: true,
  timing: { decodeMs: 1 },
  ...extra,
});

test('only commands accepted outright, with all their words in the audio, are worth keeping', () => {
  assert.equal(worthKeeping(recognition('turn on the kitchen light')), true);
  assert.equal(worthKeeping(recognition('turn on the kitchen light', { accepted: false })), false);
  assert.equal(
    worthKeeping(recognition('turn on the kitchen light', { doubt: { word: 'on', rival: 'off' } })),
    false,
    'a doubted hearing is not evidence of what was said',
  );
  assert.equal(
    worthKeeping(recognition('go home', { continues: true })),
    false,
    '"and then" was said but is not in the text',
  );
  assert.equal(worthKeeping(recognition('stop')), false, 'one word is too little to align');
});

test('a model is due at minCommands, then after every more; the oldest kept commands go first', () => {
  const s = { minCommands: 4, every: 3 };
  assert.equal(adaptationDue({ kept: 3, triedAt: 0 }, 3, s), false);
  assert.equal(adaptationDue({ kept: 4, triedAt: 0 }, 4, s), true);
  assert.equal(adaptationDue({ kept: 6, triedAt: 4 }, 6, s), false);
  assert.equal(adaptationDue({ kept: 7, triedAt: 4 }, 7, s), true);
  assert.equal(adaptationDue({ kept: 9, triedAt: 0 }, 3, s), false, 'fewer kept (pruned) than the minimum');
  assert.deepEqual(overflow([1, 2, 3, 4, 5], 3), [1, 2]);
  assert.deepEqual(overflow([1, 2], 3), []);
});

test('the heard store keeps the newest commands as an enrollment manifest, and survives a restart', () => {
  const dir = join(root, 'store');
  const store = new HeardStore(dir, 2);
  const second = new Float32Array(16000).fill(0.1);
  store.add(second, ['turn', 'on', 'the', 'kitchen', 'light']);
  store.add(second, ['drive', 'forward', 'two', 'meters']);
  store.add(second, ['switch', 'off', 'the', 'bedroom', 'lights']);
  assert.equal(store.size, 2);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.wav')).length, 2, 'the oldest WAV deleted');
  const manifest = join(dir, HEARD_MANIFEST);
  // The same format `sling voice enrol <manifest>` reads.
  const listed = parseManifest(readFileSync(manifest, 'utf8'), manifest);
  assert.deepEqual(
    listed.map((r) => r.words.join(' ')),
    ['drive forward two meters', 'switch off the bedroom lights'],
  );
  assert.ok(listed.every((r) => existsSync(r.wav)));
  store.markTried(3);
  const reopened = new HeardStore(dir, 2);
  assert.equal(reopened.size, 2);
  assert.deepEqual(reopened.adaptation, { kept: 3, triedAt: 3 });
});

test('a failed adaptation is tried again only after every more commands; an unreadable store says where', async () => {
  const dir = join(root, 'failing');
  const errors: string[] = [];
  const opened = SelfAdaptation.open({
    dir,
    minCommands: 2,
    every: 2,
    keep: 10,
    denoise: false,
    onAdapted: async () => assert.fail('nothing to adapt from'),
    onError: (error) => errors.push(error.message),
  });
  assert.ok(opened instanceof SelfAdaptation);
  // 0.2 s each: too short to adapt from, so every try fails.
  const offer = async () => {
    opened.offer(recognition('turn on the kitchen light'), new Float32Array(3200));
    await opened.idle();
  };
  await offer();
  await offer();
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /shorter than 0\.3 s/);
  await offer();
  assert.equal(errors.length, 1, 'not tried again on the next command');
  await offer();
  assert.equal(errors.length, 2, 'tried again after `every` more');

  writeFileSync(join(dir, HEARD_MANIFEST), 'no tab here\n');
  assert.throws(() => new HeardStore(dir, 10), /heard\.tsv:1: expected "<file\.wav><TAB><what was said>"/);
  const { checkVoice } = await import('../../agent/ingress/voice/doctor.ts');
  const { resolveConfig } = await import('../../agent/config/load.ts');
  const doctor = checkVoice(
    resolveConfig({
      name: 't',
      text: JSON.stringify({ voice: { grammar: grammarDir, adaptation: { enabled: true, dir } } }),
    }),
  );
  assert.equal(doctor.status, 'warn', 'voice runs unadapted: sling doctor says why');
  assert.match(doctor.detail, /self-adaptation off: .*heard\.tsv:1: expected/);
  assert.equal(doctor.fix, 'mend or delete that line');
});

test('commands heard and accepted adapt the model in the background; the engine decodes with it at once', async () => {
  const commands = [
    'turn on the kitchen light',
    'drive forward two meters',
    'switch off the bedroom lights',
    'turn the living room lights on',
    'move back three meters',
  ];
  const clips = await Promise.all(commands.map((c) => speech(c, 'en-us+f3', 160)));
  const audio = withSilence(
    clips.map((c) => c.samples),
    clips[0]!.sampleRate,
  );
  const engine = await VoiceEngine.open({ grammarDir, minConfidence: 0.5, denoise: true });
  const dir = join(root, 'heard');
  const adapted: { dir: string; commands: number; aligned: number }[] = [];
  const opened = SelfAdaptation.open({
    dir,
    minCommands: 4,
    every: 10,
    keep: 20,
    denoise: true,
    onAdapted: async (model, summary) => {
      adapted.push({ dir: model, ...summary });
      await engine.useAcousticModel(model);
    },
    onError: (error) => assert.fail(error),
  });
  assert.ok(opened instanceof SelfAdaptation, String(opened));
  const adaptation = opened;
  try {
    const heard = await engine.listenFile(audio);
    assert.equal(
      heard.filter((h) => h.recognition.accepted).length,
      commands.length,
      heard.map((h) => `${h.recognition.text} (${h.recognition.reason ?? 'accepted'})`).join(', '),
    );
    for (const h of heard) adaptation.offer(h.recognition, engine.rawAudio(h.utterance)!);
    // What a refused hearing says is never kept.
    adaptation.offer(recognition('turn on the kitchen light', { accepted: false }), new Float32Array(16000));
    assert.equal(adaptation.kept, commands.length);
    await adaptation.idle();

    assert.equal(adapted.length, 1, 'one model, made once minCommands were kept');
    assert.equal(adapted[0]!.commands, 4, 'made from the commands kept when it was due; the fifth waits');
    assert.ok(adapted[0]!.aligned >= 4, `aligned ${adapted[0]!.aligned}`);
    const record = readEnrolment(adapted[0]!.dir);
    assert.equal(record?.source, 'heard');
    assert.equal(record?.baseModel, DEFAULT_HMM);
    assert.equal(record?.denoised, true);
    assert.notDeepEqual(
      readFileSync(join(adapted[0]!.dir, 'means')),
      readFileSync(join(DEFAULT_HMM, 'means')),
    );
    assert.equal((engine.recognizer as PocketSphinxRecognizer).options.hmm, adapted[0]!.dir);

    // The adapted engine still hears the commands.
    const again = await engine.listenFile(audio);
    assert.deepEqual(
      again.map((h) => h.recognition.accepted),
      commands.map(() => true),
    );
  } finally {
    await engine.close();
  }

  // After a restart the agent starts on the adapted model, unless it was made from another base.
  const restarted = SelfAdaptation.open({
    dir,
    minCommands: 4,
    every: 10,
    keep: 20,
    denoise: true,
    onAdapted: async () => {},
    onError: (error) => assert.fail(error),
  });
  assert.ok(restarted instanceof SelfAdaptation);
  assert.equal(restarted.modelDir, adapted[0]!.dir);
  assert.equal(restarted.kept, commands.length);
  const otherBase = SelfAdaptation.open({
    dir,
    minCommands: 4,
    every: 10,
    keep: 20,
    denoise: true,
    baseModel: join(root, 'an-enrolled-model'),
    onAdapted: async () => {},
    onError: (error) => assert.fail(error),
  });
  assert.ok(otherBase instanceof SelfAdaptation);
  assert.equal(otherBase.modelDir, undefined);

  const { checkVoice } = await import('../../agent/ingress/voice/doctor.ts');
  const { resolveConfig } = await import('../../agent/config/load.ts');
  const doctor = (adaptation: object) =>
    checkVoice(
      resolveConfig({ name: 't', text: JSON.stringify({ voice: { grammar: grammarDir, adaptation } }) }),
    );
  assert.match(
    doctor({ dir, enabled: true }).detail,
    /self-adaptation on: 5 commands kept, model adapted \d{4}-\d\d-\d\d from \d+/,
  );
  assert.match(
    doctor({ dir: join(root, 'none'), enabled: true }).detail,
    /self-adaptation on: 0 commands kept, first model after 100/,
  );
  assert.doesNotMatch(doctor({ dir }).detail, /self-adaptation/, 'off by default: not mentioned');
  // After an enrollment the model adapted from the Debian base is not used (as `modelDir` above).
  const enrolled = checkVoice(
    resolveConfig({
      name: 't',
      text: JSON.stringify({
        voice: { grammar: grammarDir, acousticModel: adapted[0]!.dir, adaptation: { enabled: true, dir } },
      }),
    }),
  );
  assert.match(
    enrolled.detail,
    /model adapted .* from another base model: not used, the next adaptation replaces it/,
  );
});
