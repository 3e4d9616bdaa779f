import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { questionFor } from '../../agent/ingress/voice/confirm.ts';
import { decoderSchema } from '../../agent/ingress/voice/decoder.ts';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { defaultCalibration, PocketSphinxRecognizer } from '../../agent/ingress/voice/pocketsphinx.ts';
import { projectRoot } from '../../agent/paths.ts';
import { buildVoiceModel } from '../../models/factory/voice/build.ts';
import { readVoiceSpec } from '../../models/factory/voice/spec.ts';
import {
  addNoise,
  buildFixtureGrammar,
  paddedSpeech,
  speech,
  trigramCopy,
  withSilence,
} from '../helpers/speech.ts';

// Real espeak-ng speech → Silero VAD → PocketSphinx with the grammar built from test/fixtures/voice/intents.yaml.
let grammarDir: string;
let engine: VoiceEngine;

before(async () => {
  grammarDir = await buildFixtureGrammar();
  engine = await VoiceEngine.open({ grammarDir, minConfidence: 0.5 });
});
after(async () => {
  await engine?.close();
});

test('commands in one recording are segmented and recognised word for word', async () => {
  const commands = ['turn on the kitchen light', 'drive forward two meters', 'make the lounge light red'];
  const clips = await Promise.all(commands.map((c) => speech(c)));
  const heard = await engine.listenFile(
    withSilence(
      clips.map((c) => c.samples),
      clips[0]!.sampleRate,
    ),
  );
  assert.deepEqual(
    heard.map((h) => h.recognition.text),
    commands,
  );
  for (const h of heard) assert.ok(h.recognition.accepted, `${h.recognition.text}: ${h.recognition.reason}`);
});

test('a finished command ends after the shorter silence; one the grammar lets go on waits it out', async () => {
  const clips = await Promise.all(['turn on the kitchen light', 'stop'].map((c) => speech(c)));
  const heard = await engine.listenFile(
    withSilence(
      clips.map((c) => c.samples),
      clips[0]!.sampleRate,
    ),
  );
  assert.deepEqual(
    heard.map((h) => [h.recognition.text, h.recognition.complete]),
    [
      ['turn on the kitchen light', true],
      ['stop', false],
    ],
    '"stop" may go on: "stop the robot"',
  );
  const waited = heard.map((h) => ((h.utterance.closedAt - h.utterance.pauseStart) / 16000) * 1000);
  assert.equal(heard[0]!.utterance.reason, 'complete');
  assert.ok(waited[0]! <= 160 + 32, `closed ${waited[0]} ms into the pause`);
  assert.equal(heard[1]!.utterance.reason, 'silence');
  assert.ok(waited[1]! > waited[0]!, `"stop" waited ${waited[1]} ms, the finished command ${waited[0]} ms`);
});

test('the same audio is heard the same way, whatever was decoded before it', async () => {
  // Heard with the contrast check (on / off), whose acoustic margin shows any difference in the features.
  const on = addNoise(await paddedSpeech('turn on the kitchen light'), 0.01);
  const other = addNoise(await paddedSpeech('switch off the bedroom lights'), 0.02, 7);
  const heard = async () => {
    const r = await engine.recognizer.recognize(on);
    return { text: r.text, accepted: r.accepted, confidence: r.confidence, margin: r.detail?.contrastMargin };
  };
  const first = await heard();
  assert.equal(typeof first.margin, 'number', 'the contrast check ran');
  for (let i = 0; i < 3; i++) {
    await engine.recognizer.recognize(other);
    assert.deepEqual(await heard(), first);
  }
});

test('speech that is not a command is refused, not forced into one', async () => {
  for (const sentence of ['can you tell me a joke', 'what is the weather like today']) {
    const clip = await speech(sentence);
    const heard = await engine.listenFile(withSilence([clip.samples], clip.sampleRate));
    assert.ok(heard.length >= 1, 'the VAD found the speech');
    for (const h of heard) {
      assert.equal(h.recognition.accepted, false, `"${sentence}" was accepted as "${h.recognition.text}"`);
    }
  }
});

test('sling listen --json prints one line per utterance with heard and asrConfidence', async () => {
  const command = await speech('switch off the bedroom light', 'en-us', 150);
  const joke = await speech('can you tell me a joke');
  const file = join(mkdtempSync(join(tmpdir(), 'sling-listen-')), 'two.wav');
  writeFileSync(file, withSilence([command.samples, joke.samples], command.sampleRate));
  const stdout = await new Promise<string>((done, fail) =>
    execFile(
      process.execPath,
      [resolve(projectRoot, 'agent/sling.js'), 'listen', file, '--json', '--grammar', grammarDir],
      { timeout: 120000 },
      (error, out, err) =>
        error && error.code !== 2 ? fail(new Error(`${error.message}\n${err}`)) : done(out),
    ),
  );
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2, stdout);
  assert.equal(lines[0]!.heard, 'switch off the bedroom light');
  assert.ok((lines[0]!.asrConfidence as number) >= 0.5);
  assert.equal(lines[0]!.text, 'switch off the bedroom light', 'the heard text went to the command path');
  assert.equal(lines[1]!.intent, null);
  assert.deepEqual(lines[1]!.actions, []);
  assert.match(String((lines[1]!.refused as { reason: string }).reason), /speech not recognised/);
});

test('sling listen prints a refusal without a plan, and what a live site would do: ask, or stop at once', async () => {
  // A calibration no margin reaches puts every on/off in doubt; a little noise lets the rival align at all.
  const dir = mkdtempSync(join(tmpdir(), 'sling-voice-doubt-'));
  for (const f of ['grammar.jsgf', 'grammar.dict', 'loop.jsgf', 'loop.dict']) {
    copyFileSync(join(grammarDir, f), join(dir, f));
  }
  const manifest = JSON.parse(readFileSync(join(grammarDir, 'voice.json'), 'utf8'));
  const calibration = { contrastMargin: 1e9, contrastMarginByWord: {} };
  // "stop" with a rival that is a sentence too ("halt"), so a stop is heard in doubt as well.
  const contrasts = { ...manifest.contrasts, stop: ['halt'] };
  writeFileSync(join(dir, 'voice.json'), JSON.stringify({ ...manifest, calibration, contrasts }));
  const on = await speech('turn on the kitchen light');
  const joke = await speech('can you tell me a joke');
  const stop = await speech('stop');
  const file = join(dir, 'on.wav');
  writeFileSync(
    file,
    withSilence([addNoise(on.samples, 0.01), joke.samples, addNoise(stop.samples, 0.01)], on.sampleRate),
  );
  const stdout = await new Promise<string>((done, fail) =>
    execFile(
      process.execPath,
      [resolve(projectRoot, 'agent/sling.js'), 'listen', file, '--grammar', dir],
      { timeout: 120000 },
      (error, out, err) =>
        error && error.code !== 2 ? fail(new Error(`${error.message}\n${err}`)) : done(out),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
  assert.match(stdout, /heard: "turn on the kitchen light"/);
  assert.match(stdout, /refused: too close to "turn (off|on) the [a-z]+ light"/);
  assert.match(stdout, /a live site would be asked: "turn on the kitchen light\? [A-Z][a-z]+, not [a-z]+\?"/);
  assert.match(
    stdout,
    /heard: "stop"[^\n]*\n {2}refused: too close to "halt"[^\n]*\n {2}a live site would run it at once/,
  );
  assert.equal(stdout.match(/refused: /g)?.length, 3, stdout);
  assert.doesNotMatch(stdout, /[{}]/, 'no plan printed for a refused utterance');
});

test('sling listen says when a live site would ask before running a motion, as configured', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sling-listen-motion-'));
  const move = await speech('drive forward two meters');
  const file = join(dir, 'move.wav');
  writeFileSync(file, withSilence([move.samples], move.sampleRate));
  const noConfirm = join(dir, 'no-confirm.yaml');
  writeFileSync(noConfirm, 'voice:\n  confirm:\n    enabled: false\n');
  const listen = (...extra: string[]) =>
    new Promise<string>((done, fail) =>
      execFile(
        process.execPath,
        [resolve(projectRoot, 'agent/sling.js'), 'listen', file, '--grammar', grammarDir, ...extra],
        { timeout: 120000 },
        (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done(out)),
      ),
    );
  const [asked, unasked] = [await listen(), await listen('--config', noConfirm)];
  rmSync(dir, { recursive: true, force: true });
  assert.match(asked, /"intent": "robot\.move"/);
  assert.match(asked, /a live site would ask first: "drive forward two meters\?"/);
  assert.match(unasked, /"intent": "robot\.move"/);
  assert.doesNotMatch(unasked, /a live site would/, 'confirmation off: nothing is asked');
});

test('sling listen refuses a file that is not audio with a clear error', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sling-listen-')), 'notes.wav');
  writeFileSync(file, 'these are not samples');
  const result = await new Promise<{ code: number; err: string }>((done) =>
    execFile(
      process.execPath,
      [resolve(projectRoot, 'agent/sling.js'), 'listen', file, '--grammar', grammarDir],
      (error, _out, err) => done({ code: (error?.code as number) ?? 0, err }),
    ),
  );
  assert.equal(result.code, 1);
  assert.match(result.err, /notes\.wav: not a WAV file/);
});

test('a command said after a pause with "and then" continues the one before; alone, the connective is refused', async () => {
  const dir = trigramCopy(grammarDir);
  const lm = await VoiceEngine.open({ grammarDir: dir, minConfidence: 0.5 });
  try {
    const first = await speech('turn on the kitchen light');
    const rest = await speech('and then stop the robot');
    const chain = await lm.listenFile(withSilence([first.samples, rest.samples], first.sampleRate));
    assert.deepEqual(
      chain.map((h) => [h.recognition.text, h.recognition.accepted, h.recognition.continues ?? false]),
      [
        ['turn on the kitchen light', true, false],
        ['stop the robot', true, true],
      ],
      chain.map((h) => h.recognition.reason).join('; '),
    );
    const alone = await lm.listenFile(withSilence([rest.samples], rest.sampleRate));
    assert.equal(alone.length, 1);
    assert.equal(alone[0]!.recognition.accepted, false);
    assert.match(String(alone[0]!.recognition.reason), /no command came just before/);
  } finally {
    await lm.close();
  }
});

test('the trigram decoder (used for large specs) recognises commands and refuses what the grammar cannot say', async () => {
  const dir = trigramCopy(grammarDir);
  const lm = await VoiceEngine.open({ grammarDir: dir, minConfidence: 0.5 });
  const rescoring = await VoiceEngine.open({
    grammarDir: dir,
    minConfidence: 0.5,
    decoder: decoderSchema.parse({ secondPass: { rescoreSentences: true } }),
  });
  try {
    const command = await speech('turn on the kitchen light');
    const [heard] = await lm.listenFile(withSilence([command.samples], command.sampleRate));
    assert.equal(heard?.recognition.text, 'turn on the kitchen light');
    assert.ok(heard?.recognition.accepted, heard?.recognition.reason);
    // A grammar sentence heard by the first pass is not decoded again unless asked to (rescoreSentences).
    assert.equal(heard?.recognition.detail?.secondPassCandidates, undefined);
    const [again] = await rescoring.listenFile(withSilence([command.samples], command.sampleRate));
    assert.ok(
      Number(again?.recognition.detail?.secondPassCandidates) >= 1,
      'rescored over its near sentences',
    );
    const joke = await speech('can you tell me a joke');
    for (const h of await lm.listenFile(withSilence([joke.samples], joke.sampleRate))) {
      assert.equal(h.recognition.accepted, false, `accepted "${h.recognition.text}"`);
    }
  } finally {
    await lm.close();
    await rescoring.close();
  }
});

test('a hypothesis the audio does not prefer over its contrast ("on" for "off") is refused', async () => {
  // The decoder's grammar can only say "turn on the kitchen light"; the command grammar also has "turn off
  // ...". Spoken "turn off ..." is forced into "turn on ..." and the contrast check must catch it.
  const dir = mkdtempSync(join(tmpdir(), 'sling-voice-contrast-'));
  const build = async (name: string, yaml: string) => {
    writeFileSync(join(dir, `${name}.yaml`), yaml);
    return (await buildVoiceModel(readVoiceSpec(join(dir, `${name}.yaml`)), join(dir, name), name)).dir;
  };
  const onOnly = await build('on', 'intents:\n  light.on:\n    examples: [turn on the kitchen light]\n');
  const both = await build(
    'both',
    'intents:\n  light.on:\n    examples: [turn on the kitchen light]\n  light.off:\n    examples: [turn off the kitchen light]\n',
  );
  const contrasts = JSON.parse(readFileSync(join(both, 'voice.json'), 'utf8')).contrasts;
  assert.deepEqual(contrasts, { off: ['on'], on: ['off'] });
  const recognizer = new PocketSphinxRecognizer({
    grammar: join(onOnly, 'grammar.jsgf'),
    dictionary: join(both, 'grammar.dict'),
    loopGrammar: join(both, 'loop.jsgf'),
    loopDictionary: join(both, 'loop.dict'),
    sentenceGrammar: join(both, 'grammar.jsgf'),
    contrasts,
    minConfidence: 0, // only the contrast check decides
  });
  const forced = await VoiceEngine.open({ grammarDir: onOnly, minConfidence: 0, recognizer });
  try {
    const off = await speech('turn off the kitchen light');
    const [wrong] = await forced.listenFile(withSilence([off.samples], off.sampleRate));
    assert.equal(wrong?.recognition.text, 'turn on the kitchen light', 'the grammar forced the hypothesis');
    assert.equal(wrong?.recognition.accepted, false);
    assert.match(String(wrong?.recognition.reason), /too close to "turn off the kitchen light"/);
    assert.deepEqual(wrong?.recognition.doubt, { word: 'on', rival: 'off' }, 'the word to ask back about');
    const on = await speech('turn on the kitchen light');
    const [right] = await forced.listenFile(withSilence([on.samples], on.sampleRate));
    assert.ok(right?.recognition.accepted, right?.recognition.reason);
    assert.equal(right?.recognition.detail?.contrastRival, 'turn off the kitchen light');
    assert.ok(Number(right?.recognition.detail?.contrastMargin) >= defaultCalibration.contrastMargin);
  } finally {
    await forced.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the contrast check weighs the audio before noise suppression when the recogniser is given it', async () => {
  const on = await paddedSpeech('turn on the kitchen light');
  const off = await paddedSpeech('turn off the kitchen light');
  const same = (x: Float32Array) => {
    const out = new Float32Array(Math.max(on.length, off.length));
    out.set(x);
    return out;
  };
  const alone = await engine.recognizer.recognize(same(on));
  assert.equal(alone.text, 'turn on the kitchen light');
  assert.ok(alone.accepted, alone.reason);
  // The "unprocessed" audio says "off": the check weighs the two sentences there, whatever the decoder heard.
  const checked = await engine.recognizer.recognize(same(on), undefined, same(off));
  assert.equal(checked.text, 'turn on the kitchen light', 'the sentence is still found in `samples`');
  assert.equal(checked.accepted, false);
  assert.match(checked.reason ?? '', /too close to "turn off the kitchen light" \(margin -?\d+\)/);
  const margin = (r: typeof alone) => Number(r.detail?.contrastMargin);
  assert.ok(
    margin(checked) < margin(alone) - 500,
    `margin ${margin(alone)} on "on", ${margin(checked)} on "off"`,
  );
});

test('with unprocessedOpinion, a sentence heard only before noise suppression is taken or asked; without, refused', async () => {
  const dir = trigramCopy(grammarDir);
  const opinion = await VoiceEngine.open({
    grammarDir: dir,
    minConfidence: 0.5,
    decoder: decoderSchema.parse({ unprocessedOpinion: true }),
  });
  const asking = await VoiceEngine.open({
    grammarDir: dir,
    minConfidence: 0.5,
    decoder: decoderSchema.parse({ unprocessedOpinion: 'ask' }),
  });
  const plain = await VoiceEngine.open({ grammarDir: dir, minConfidence: 0.5 });
  try {
    const command = await paddedSpeech('turn on the kitchen light');
    // What the suppressor "left": speech the grammar cannot say, as long as the command.
    const other = await paddedSpeech('can you tell me a joke');
    const denoised = new Float32Array(command.length);
    denoised.set(other.subarray(0, command.length));
    const taken = await opinion.recognizer.recognize(denoised, undefined, command);
    assert.equal(taken.text, 'turn on the kitchen light');
    assert.ok(taken.accepted, taken.reason);
    assert.ok(taken.detail?.denoisedPass !== undefined, JSON.stringify(taken.detail));
    // Asked back only where the denoised audio ends refused; the VAD's span measures the coverage.
    const speech = { start: 8000, end: command.length - 16000 };
    const asked = await asking.recognizer.recognize(denoised, speech, command);
    assert.equal(asked.text, 'turn on the kitchen light');
    assert.equal(asked.accepted, false, 'never run unasked');
    assert.match(asked.reason ?? '', /^heard only in the audio before noise suppression \(after it: /);
    assert.deepEqual(asked.doubt, { heardBeforeSuppression: true });
    assert.equal(questionFor(asked.text, asked.doubt), 'turn on the kitchen light?');
    const refused = await plain.recognizer.recognize(denoised, undefined, command);
    assert.notEqual(refused.accepted && refused.text === 'turn on the kitchen light', true);
    assert.equal(refused.doubt, undefined);
    // A grammar sentence in the denoised audio stands: the other opinion only fills in for none.
    const both = await opinion.recognizer.recognize(command, undefined, denoised);
    assert.equal(both.text, 'turn on the kitchen light');
    assert.equal(both.detail?.denoisedPass, undefined);
    const askedBoth = await asking.recognizer.recognize(command, speech, denoised);
    assert.ok(askedBoth.accepted && askedBoth.doubt === undefined, 'a sentence heard after suppression runs');
  } finally {
    await opinion.close();
    await asking.close();
    await plain.close();
  }
});
