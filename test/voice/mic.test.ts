import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { HERMES, HermesVoice } from '../../agent/ingress/voice/hermes.ts';
import { Microphone } from '../../agent/ingress/voice/mic.ts';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { voiceSchema } from '../../agent/ingress/voice/schema.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { buildFixtureGrammar, speech } from '../helpers/speech.ts';

// The local microphone path with a stand-in for arecord: a real child process writing synthesized speech as
// 16 kHz S16_LE raw PCM to stdout, then exiting (as arecord does when the device goes away).
let broker: Mosquitto;
let engine: VoiceEngine;
let client: MqttClient;
let listener: MqttClient;
let voice: HermesVoice;
let dir: string;
const captured: { text: string; siteId: string }[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sling-mic-'));
  const clip = await speech('turn on the kitchen light');
  const samples = resample(clip.samples, clip.sampleRate, 16000);
  const pcm = Buffer.alloc((8000 + samples.length + 16000) * 2);
  for (const [i, s] of samples.entries()) {
    pcm.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), (8000 + i) * 2);
  }
  writeFileSync(join(dir, 'speech.raw'), pcm);
  // Odd-sized writes (dd bs=999) so samples straddle chunks, like a real pipe.
  writeFileSync(join(dir, 'fake-arecord'), `#!/bin/sh\ndd if="$1" bs=999 status=none\nexit 1\n`);
  chmodSync(join(dir, 'fake-arecord'), 0o755);

  broker = await startMosquitto();
  engine = await VoiceEngine.open({ grammarDir: await buildFixtureGrammar(), minConfidence: 0.5 });
  client = await mqtt.connectAsync(broker.url);
  listener = await mqtt.connectAsync(broker.url);
  listener.on('message', (_topic, payload) => captured.push(JSON.parse(payload.toString())));
  await listener.subscribeAsync(HERMES.textCaptured);
  voice = new HermesVoice({
    client,
    engine,
    config: voiceSchema.parse({ enabled: true, confirm: { enabled: false } }),
    onCommand: async () => ({}),
  });
  await voice.start();
});

after(async () => {
  await voice?.stop();
  await engine?.close();
  await client?.endAsync();
  await listener?.endAsync();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const until = async (done: () => boolean, what: string, timeoutMs = 30000) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('microphone audio from the capture process is heard as the configured site; an exit restarts it', async () => {
  const errors: Error[] = [];
  const config = voiceSchema.parse({
    microphone: {
      enabled: true,
      siteId: 'desk',
      device: join(dir, 'speech.raw'),
      command: [join(dir, 'fake-arecord'), '{device}'],
    },
  }).microphone;
  const mic = new Microphone({
    config,
    onAudio: (samples, rate) => void voice.pushAudio(config.siteId, samples, rate),
    onError: (error) => errors.push(error),
    firstBackoffMs: 50,
  });
  mic.start();
  try {
    await until(() => captured.length >= 2, 'the command heard twice (the capture restarted)');
    assert.deepEqual(captured[0], { ...captured[0], text: 'turn on the kitchen light', siteId: 'desk' });
    assert.ok(mic.starts >= 2, 'restarted after exiting');
    assert.match(errors[0]!.message, /exited 1.*retrying in 50 ms/);
  } finally {
    mic.stop();
  }
});

test('a missing capture program is a clear error, retried with growing backoff, never a crash', async () => {
  const errors: Error[] = [];
  const mic = new Microphone({
    config: voiceSchema.parse({ microphone: { command: ['/nonexistent/arecord', '-D', '{device}'] } })
      .microphone,
    onAudio: () => assert.fail('no audio from a missing program'),
    onError: (error) => errors.push(error),
    firstBackoffMs: 20,
    maxBackoffMs: 80,
  });
  mic.start();
  try {
    await until(() => errors.length >= 4, 'four failed starts');
  } finally {
    mic.stop();
  }
  assert.match(errors[0]!.message, /\/nonexistent\/arecord not found \(install alsa-utils/);
  assert.deepEqual(
    errors.slice(0, 4).map((e) => /retrying in (\d+) ms/.exec(e.message)?.[1]),
    ['20', '40', '80', '80'],
  );
  const count = errors.length;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(errors.length, count, 'stop() ends the retries');
});
