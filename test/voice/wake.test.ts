import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { VoiceDialogue } from '../../agent/ingress/voice/dialogue.ts';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { HERMES, HermesVoice } from '../../agent/ingress/voice/hermes.ts';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { voiceSchema } from '../../agent/ingress/voice/schema.ts';
import { KeyphraseSpotter } from '../../agent/ingress/voice/wake-spotter.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { buildFixtureGrammar, publishSpeech, speech } from '../helpers/speech.ts';

// The wake word on synthesized speech: the spotter itself, then the gate in front of a satellite's commands.
const config = voiceSchema.parse({ enabled: true, wake: { enabled: true }, confirm: { enabled: false } });
let broker: Mosquitto;
let engine: VoiceEngine;
let grammarDir: string;
let dialogue: VoiceDialogue;
let agentClient: MqttClient;
let satellite: MqttClient;
let voice: HermesVoice;
const commands: string[] = [];
const messages: { topic: string; payload: string }[] = [];

const clip16k = async (text: string, voiceName = 'en-us') => {
  const clip = await speech(text, voiceName);
  return resample(clip.samples, clip.sampleRate, 16000);
};

/** A clip and where its speech starts (the first sample above 0.01, as the VAD would hear it). */
const opening = async (text: string, voiceName = 'en-us'): Promise<[Float32Array, number]> => {
  const samples = await clip16k(text, voiceName);
  return [
    samples,
    Math.max(
      0,
      samples.findIndex((s) => Math.abs(s) > 0.01),
    ),
  ];
};

async function waitFor(match: (m: { topic: string; payload: string }) => boolean, what: string) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const found = messages.find(match);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; have ${messages.map((m) => `${m.topic} ${m.payload}`)}`,
      );
    await new Promise<void>((wake) => {
      const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
      satellite.once('message', () => {
        clearTimeout(timer);
        wake();
      });
    });
  }
}

const streamSpeech = (siteId: string, text: string) => publishSpeech(satellite, siteId, text);

before(async () => {
  broker = await startMosquitto();
  grammarDir = await buildFixtureGrammar();
  engine = await VoiceEngine.open({ grammarDir, minConfidence: 0.5 });
  dialogue = await VoiceDialogue.open({
    wake: config.wake,
    confirm: config.confirm,
    grammarDir,
    minConfidence: 0.5,
    onCancelled: () => {},
  });
  agentClient = await mqtt.connectAsync(broker.url);
  satellite = await mqtt.connectAsync(broker.url);
  satellite.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
  await satellite.subscribeAsync([
    'hermes/asr/textCaptured',
    'hermes/error/asr',
    'hermes/hotword/+/detected',
  ]);
  voice = new HermesVoice({
    client: agentClient,
    engine,
    config,
    dialogue,
    onCommand: async (text) => {
      commands.push(text);
      return {};
    },
  });
  await voice.start();
});

after(async () => {
  await voice?.stop();
  await dialogue?.close();
  await engine?.close();
  await agentClient?.endAsync();
  await satellite?.endAsync();
  await broker?.stop();
});

test('the spotter finds "hey sling" in two voices, and not in commands or other speech', async () => {
  const spotter = await KeyphraseSpotter.open(config.wake, grammarDir);
  try {
    for (const v of ['en-us', 'en-gb']) {
      const found = await spotter.spot(...(await opening('hey sling', v)));
      assert.ok(found, `detected in ${v}`);
      assert.equal(found.phrase, 'hey sling');
    }
    const [both, start] = await opening('hey sling, turn on the kitchen light');
    const found = await spotter.spot(both, start);
    assert.ok(found && found.end < both.length / 2, 'detected at the start, the command after it');
    for (const other of ['turn on the kitchen light', "what's the weather like tomorrow"]) {
      assert.equal(await spotter.spot(...(await opening(other))), undefined, `no wake in "${other}"`);
    }
  } finally {
    await spotter.close();
  }
});

test('asleep, commands are ignored; the wake phrase opens one command; phrase + command in one breath works', async () => {
  await streamSpeech('porch', 'turn on the kitchen light');
  await streamSpeech('porch', 'hey sling');
  const woke = await waitFor((m) => m.topic.startsWith('hermes/hotword/'), 'the wake word');
  assert.equal(woke.topic, 'hermes/hotword/hey_sling/detected');
  assert.equal(JSON.parse(woke.payload).siteId, 'porch');
  assert.deepEqual(commands, [], 'the command before the wake word was not heard');
  assert.equal(messages.filter((m) => m.topic === HERMES.asrError).length, 0, 'nor decoded');

  await streamSpeech('porch', 'turn off the kitchen light');
  await waitFor((m) => m.topic === HERMES.textCaptured, 'the command after the wake word');
  assert.deepEqual(commands, ['turn off the kitchen light']);

  await streamSpeech('porch', 'turn on the kitchen light'); // asleep again: one command per wake
  await streamSpeech('porch', 'hey sling turn on the bedroom light');
  const captured = await waitFor(
    (m) => m.topic === HERMES.textCaptured && JSON.parse(m.payload).text.includes('bedroom'),
    'phrase and command together',
  );
  assert.equal(JSON.parse(captured.payload).wakewordId, 'hey_sling');
  assert.deepEqual(commands, ['turn off the kitchen light', 'turn on the bedroom light']);
});
