import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { confirmSchema } from '../../agent/ingress/voice/confirm.ts';
import { VoiceDialogue } from '../../agent/ingress/voice/dialogue.ts';
import { EarlyDecodes, VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { HERMES, HermesVoice } from '../../agent/ingress/voice/hermes.ts';
import type { SpeechRecognizer } from '../../agent/ingress/voice/recognizer.ts';
import { voiceSchema } from '../../agent/ingress/voice/schema.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { buildFixtureGrammar, paddedSpeech, publishSpeech } from '../helpers/speech.ts';

// What goes wrong around a heard command: a failing reply, a command whose spoken and typed forms differ.
// Real mosquitto, real VAD on espeak-ng speech; the recogniser says a fixed sentence (the contract lets users
// plug in their own), so these tests do not depend on PocketSphinx's accuracy.

let broker: Mosquitto;
let client: MqttClient;
let grammarDir: string;

before(async () => {
  broker = await startMosquitto();
  client = await mqtt.connectAsync(broker.url);
  grammarDir = await buildFixtureGrammar();
});

after(async () => {
  await client?.endAsync();
  await broker?.stop();
});

const saying = (text: string): SpeechRecognizer => ({
  name: 'fixed',
  recognize: async () => ({ text, confidence: 0.9, accepted: true, timing: { decodeMs: 0 } }),
  close: async () => {},
});

async function waitFor(done: () => boolean, what: string, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a recogniser that fails is reported and the site keeps hearing commands', async () => {
  // A user-provided recogniser (or a crashed decoder) may throw: the site must not go deaf after it.
  let failing = true;
  const flaky: SpeechRecognizer = {
    name: 'flaky',
    recognize: async () => {
      if (failing) throw new Error('decoder crashed');
      return { text: 'stop', confidence: 0.9, accepted: true, timing: { decodeMs: 0 } };
    },
    close: async () => {},
  };
  const engine = await VoiceEngine.open({ grammarDir, minConfidence: 0.5, recognizer: flaky });
  const heard: string[] = [];
  const errors: Error[] = [];
  const voice = new HermesVoice({
    client,
    engine,
    config: voiceSchema.parse({ enabled: true, hermes: { siteIds: ['deaf'] }, tts: { output: 'none' } }),
    onCommand: async (text) => {
      heard.push(text);
      return undefined;
    },
    onError: (error) => errors.push(error),
  });
  await voice.start();
  try {
    await publishSpeech(client, 'deaf', 'stop the robot');
    await waitFor(() => errors.length > 0, 'the failure reported');
    assert.match(errors[0]!.message, /decoder crashed/);
    failing = false;
    await publishSpeech(client, 'deaf', 'stop the robot');
    await waitFor(() => heard.length > 0, 'the next command (the site must not go deaf)');
    assert.deepEqual(heard, ['stop']);
  } finally {
    // stop() flushes the site's stream: it must not reject either
    await voice.stop();
    await engine.close();
  }
});

test('a motion command whose spoken form differs from its typed form is still held for its "yes"', async () => {
  // "one point five meters" runs as "1.5 meters" (typed-form.ts); the question must be about that command.
  const engine = await VoiceEngine.open({
    grammarDir,
    minConfidence: 0.5,
    recognizer: saying('drive forward one point five meters'),
  });
  const config = voiceSchema.parse({
    enabled: true,
    hermes: { siteIds: ['typed'] },
    tts: { output: 'none' },
  });
  const asked: string[] = [];
  const dialogue = await VoiceDialogue.open({
    wake: config.wake,
    confirm: config.confirm,
    grammarDir,
    minConfidence: 0.5,
    // The agent's parser knows the typed form only, as the default model does for decimals.
    intentsOf: async (text) => {
      asked.push(text);
      return text === 'drive forward 1.5 meters' ? ['robot.move'] : [null];
    },
    onCancelled: () => {},
    answerRecognizer: saying('no'),
  });
  const executed: string[] = [];
  const said: string[] = [];
  client.on('message', (topic, payload) => {
    if (topic === HERMES.sayFinished) said.push(payload.toString());
  });
  await client.subscribeAsync(HERMES.sayFinished);
  const voice = new HermesVoice({
    client,
    engine,
    config,
    dialogue,
    onCommand: async (text) => {
      executed.push(text);
      return undefined;
    },
  });
  await voice.start();
  try {
    await publishSpeech(client, 'typed', 'drive forward one point five meters');
    await waitFor(
      () => asked.length > 0 && (said.length > 0 || executed.length > 0),
      'the question (or the command running)',
    );
    assert.deepEqual(executed, [], 'nothing runs before "yes"');
    assert.deepEqual(asked, ['drive forward 1.5 meters'], 'judged on the text that would run');
  } finally {
    await voice.stop();
    await dialogue.close();
    await engine.close();
    await client.unsubscribeAsync(HERMES.sayFinished);
  }
});

test('a site is heard while its previous command runs: "stop" during a long motion is not queued behind it', async () => {
  const engine = await VoiceEngine.open({ grammarDir, minConfidence: 0.5, recognizer: saying('stop') });
  const heard: string[] = [];
  let finishFirst: (() => void) | undefined;
  const voice = new HermesVoice({
    client,
    engine,
    config: voiceSchema.parse({ enabled: true, hermes: { siteIds: ['busy'] }, tts: { output: 'none' } }),
    onCommand: async (text) => {
      heard.push(text);
      // The first command is a motion that takes a while (the agent answers when it has finished).
      if (heard.length === 1) await new Promise<void>((done) => (finishFirst = done));
      return undefined;
    },
  });
  await voice.start();
  try {
    await publishSpeech(client, 'busy', 'drive forward two meters');
    await waitFor(() => heard.length === 1, 'the first command');
    await publishSpeech(client, 'busy', 'stop');
    await waitFor(() => heard.length === 2, 'the second command while the first still runs');
  } finally {
    finishFirst?.();
    await voice.stop();
    await engine.close();
  }
});

test('a command said as the question runs out is heard as a command, not dropped as a late answer', async () => {
  // The clock moves on while the answer is decoded: the question expires meanwhile.
  let now = 0;
  const config = voiceSchema.parse({ enabled: true });
  const dialogue = await VoiceDialogue.open({
    wake: config.wake,
    confirm: config.confirm,
    grammarDir,
    minConfidence: 0.5,
    intentsOf: async () => ['robot.move'],
    onCancelled: () => {},
    answerRecognizer: {
      name: 'slow',
      recognize: async () => {
        now += 500;
        return { text: 'stop', confidence: 0.9, accepted: true, timing: { decodeMs: 500 } };
      },
      close: async () => {},
    },
    now: () => now,
  });
  try {
    const move = { text: 'drive forward two meters', confidence: 0.9, sessionId: 's' };
    assert.ok(await dialogue.hold('porch', move), 'the motion is held');
    now = config.confirm.timeoutMs - 100;
    const samples = await paddedSpeech('stop');
    const utterance = {
      samples,
      speechStart: 8000,
      speechEnd: samples.length - 16000,
      pauseStart: samples.length - 16000,
      closedAt: samples.length,
    };
    const route = await dialogue.route('porch', { ...utterance, reason: 'silence' });
    assert.equal(route.kind, 'recognize', '"stop" is not a late answer: it is heard as a command');
  } finally {
    await dialogue.close();
  }
});

test('answers that cannot be pronounced are refused by name, and the failed start leaves no temp dir', async () => {
  assert.throws(() => confirmSchema.parse({ yes: ['1'] }), /letters/);
  assert.throws(() => confirmSchema.parse({ no: ['!!'] }), /letters/);
  assert.deepEqual(confirmSchema.parse({ yes: ["yes it's ok", 'go-ahead'] }).yes, [
    "yes it's ok",
    'go-ahead',
  ]);
  // Past the schema (a caller building the config itself): a clear error, nothing left behind.
  const previous = process.env.TMPDIR;
  const tmp = mkdtempSync(join(tmpdir(), 'sling-review-tmp-'));
  process.env.TMPDIR = tmp;
  try {
    const config = voiceSchema.parse({ enabled: true });
    await assert.rejects(
      VoiceDialogue.open({
        wake: config.wake,
        confirm: { ...config.confirm, yes: ['1'] },
        grammarDir,
        minConfidence: 0.5,
        intentsOf: async () => [],
        onCancelled: () => {},
      }),
      /voice\.confirm answers/,
    );
    assert.deepEqual(readdirSync(tmp), [], 'temp dirs removed');
  } finally {
    process.env.TMPDIR = previous;
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('an early decode that fails and is never used does not end the process', async () => {
  const failing: SpeechRecognizer = {
    name: 'failing',
    recognize: async () => {
      throw new Error('recogniser died');
    },
    close: async () => {},
  };
  const engine = await VoiceEngine.open({ grammarDir, minConfidence: 0.5, recognizer: failing });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const early = new EarlyDecodes(engine);
    const utterance = {
      samples: new Float32Array(16000),
      speechStart: 0,
      speechEnd: 8000,
      pauseStart: 8000,
      closedAt: 16000,
      reason: 'early' as const,
    };
    early.start(utterance);
    early.take(utterance); // taken, then dropped by the routing (a wake phrase, an answer)
    early.start(utterance);
    await assert.rejects(early.heard(utterance), /recogniser died/, 'whoever awaits it gets the error');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await engine.close();
  }
});
