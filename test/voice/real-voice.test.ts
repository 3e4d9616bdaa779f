import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../agent/config/load.ts';
import { type CommandPath, loadCommandPath } from '../../agent/ingress/voice/command-path.ts';
import { clauseIntents, needsConfirmation, type ParsedIntents } from '../../agent/ingress/voice/confirm.ts';
import { VoiceEngine, voiceEngineOptions } from '../../agent/ingress/voice/engine.ts';
import { typedForm } from '../../agent/ingress/voice/typed-form.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { NoisySpeech, RATE } from '../bench/noisy-speech.ts';
import { type Recording, recordings } from '../helpers/recordings.ts';

// Recorded human speech (Debian's pocketsphinx-testdata and alsa-utils), not espeak-ng: the default world's
// grammar, NLU model and configured voice settings, as `npm start` runs them.
const config = loadConfig().config;
let engine: VoiceEngine;
let commandPath: CommandPath;
let all: Recording[];
const dir = mkdtempSync(join(tmpdir(), 'sling-real-voice-'));

before(async () => {
  all = recordings();
  engine = await VoiceEngine.open(voiceEngineOptions(config.voice));
  commandPath = await loadCommandPath(config, config.nlu.model);
});
after(async () => {
  await engine?.close();
  await commandPath?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the agent would run for a recording: every accepted utterance's plan, in order. */
async function heardAndRun(samples: Float32Array) {
  const heard = await engine.listenFile(encodeWav(samples, RATE));
  const accepted = heard.filter((h) => h.recognition.accepted);
  const results = await Promise.all(accepted.map((h) => commandPath.run(typedForm(h.recognition.text))));
  return {
    heard: heard.map(
      (h) => `${h.recognition.text}${h.recognition.accepted ? '' : ` (refused: ${h.recognition.reason})`}`,
    ),
    results,
  };
}

/** The default world's devices that move. */
const MOVING = new Set(['robot', 'gripper']);

test('sling listen plans a command a person recorded, as typing it would', async () => {
  const goForward = all.find((r) => r.command)!;
  const file = join(dir, 'goforward.wav');
  writeFileSync(file, encodeWav(goForward.samples, RATE));
  const stdout = await new Promise<string>((done, fail) =>
    execFile(
      process.execPath,
      [resolve(projectRoot, 'agent/sling.js'), 'listen', file, '--json'],
      { timeout: 120000 },
      (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}`)) : done(out)),
    ),
  );
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 1, stdout);
  assert.equal(lines[0]!.heard, goForward.transcript);
  assert.equal(lines[0]!.refused, undefined, stdout);
  const typed = await commandPath.run(goForward.transcript!);
  assert.deepEqual(lines[0]!.actions, typed.actions);
  assert.equal((lines[0]!.actions as { action: string }[])[0]?.action, 'move');
});

test('the recorded command still gives its plan under room noise at 20 and 10 dB', async () => {
  const goForward = all.find((r) => r.command)!;
  const typed = (await commandPath.run(goForward.transcript!)).actions;
  // Repeatable pink noise (sox -R): the same stretches every run.
  const noisy = new NoisySpeech(30, true);
  try {
    for (const snr of [20, 10]) {
      const { samples } = noisy.mix(goForward.samples, snr);
      const { heard, results } = await heardAndRun(samples);
      assert.deepEqual(
        results.flatMap((p) => p.actions as unknown[]),
        typed,
        `${snr} dB: heard ${heard.join(' | ')}`,
      );
    }
  } finally {
    noisy.close();
  }
});

test('recorded speech that is not a command (read prose, card names, digits) runs nothing', async () => {
  const others = all.filter((r) => !r.command && !r.name.startsWith('alsa/'));
  assert.equal(others.length, 12);
  for (const r of others) {
    const { heard, results } = await heardAndRun(r.samples);
    const actions = results.flatMap((p) => p.actions as unknown[]);
    assert.ok(heard.length > 0, `${r.name}: speech found`);
    assert.deepEqual(actions, [], `${r.name} ran ${JSON.stringify(actions)} (heard ${heard.join(' | ')})`);
  }
});

test('no recorded non-command moves anything unasked: motion heard by voice waits for a "yes"', async () => {
  // alsa-utils' "side ... right" is heard as "some light" and switches the lights on (`sling listen` on the file;
  // bench:voice-real in noise): a short command of the spec's own, which the wake word keeps out. Whatever is
  // misheard, motion must never run from it unasked.
  const { confirm } = config.voice;
  assert.ok(confirm.enabled, 'the default configuration asks before motion');
  for (const r of all.filter((r) => !r.command)) {
    const { heard, results } = await heardAndRun(r.samples);
    for (const plan of results) {
      const moves = (plan.actions as { device: string }[]).some((a) => MOVING.has(a.device));
      assert.ok(
        !moves || needsConfirmation(clauseIntents(plan as ParsedIntents), confirm.intents),
        `${r.name} would move unasked: heard ${heard.join(' | ')}`,
      );
    }
  }
});
