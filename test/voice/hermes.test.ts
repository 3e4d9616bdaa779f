import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { HERMES, HermesVoice } from '../../agent/ingress/voice/hermes.ts';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { voiceSchema } from '../../agent/ingress/voice/schema.ts';
import { decodeWav, encodeWav } from '../../agent/ingress/voice/wav.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { buildFixtureGrammar, paddedSpeech, publishSpeech, speech } from '../helpers/speech.ts';

// A Rhasspy-style satellite streams WAV chunks over a real mosquitto; Sling hears, captures text, answers aloud.
let broker: Mosquitto;
let engine: VoiceEngine;
let agentClient: MqttClient;
let satellite: MqttClient;
let voice: HermesVoice;
let pushToTalk: HermesVoice | undefined;
const commands: string[] = [];
const errors: Error[] = [];
const messages: { topic: string; payload: Buffer }[] = [];

async function nextMessage(match: (topic: string) => boolean, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = messages.findIndex((m) => match(m.topic));
    if (i >= 0) return messages.splice(i, 1)[0]!;
    if (Date.now() > deadline)
      throw new Error(`no message within ${timeoutMs} ms; have ${messages.map((m) => m.topic)}`);
    await new Promise<void>((wake) => {
      const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
      satellite.once('message', () => {
        clearTimeout(timer);
        wake();
      });
    });
  }
}

/** Streams speech as 1024-sample 16 kHz WAV chunks, with silence around it, like a Hermes microphone. */
const streamSpeech = (siteId: string, text: string) => publishSpeech(satellite, siteId, text, 1024);

/** Another HermesVoice on the same broker, started, recording the commands it hears (and its errors). */
async function listener(voiceConfig: Record<string, unknown>, recognizer: VoiceEngine = engine) {
  const heard: string[] = [];
  const errors: Error[] = [];
  const voice = new HermesVoice({
    client: agentClient,
    engine: recognizer,
    config: voiceSchema.parse({ enabled: true, ...voiceConfig }),
    onCommand: async (text) => {
      heard.push(text);
      return undefined;
    },
    onError: (error) => errors.push(error),
  });
  await voice.start();
  return { voice, heard, errors };
}

before(async () => {
  broker = await startMosquitto();
  // With noise suppression, as the agent runs by default (voice.denoise): one suppressor per satellite.
  engine = await VoiceEngine.open({
    grammarDir: await buildFixtureGrammar(),
    minConfidence: 0.5,
    denoise: true,
  });
  agentClient = await mqtt.connectAsync(broker.url);
  satellite = await mqtt.connectAsync(broker.url);
  satellite.on('message', (topic, payload) => messages.push({ topic, payload }));
  await satellite.subscribeAsync([
    'hermes/asr/textCaptured',
    'hermes/error/asr',
    'hermes/tts/sayFinished',
    'hermes/audioServer/+/playBytes/+',
  ]);
  voice = new HermesVoice({
    client: agentClient,
    engine,
    config: voiceSchema.parse({ enabled: true, hermes: { siteIds: ['kitchen-sat', 'hall'] } }),
    onCommand: async (text) => {
      commands.push(text);
      return { reply: `ok, ${text}` };
    },
    onError: (error) => errors.push(error),
  });
  await voice.start();
});

after(async () => {
  await voice?.stop();
  await pushToTalk?.stop();
  await agentClient?.endAsync();
  await satellite?.endAsync();
  await engine?.close();
  await broker?.stop();
});

test('audio frames from a satellite become textCaptured, the command path, and a spoken reply', async () => {
  await streamSpeech('kitchen-sat', 'turn off the bedroom light');
  const captured = await nextMessage((t) => t === HERMES.textCaptured);
  const body = JSON.parse(captured.payload.toString());
  assert.equal(body.text, 'turn off the bedroom light');
  assert.equal(body.siteId, 'kitchen-sat');
  assert.ok(body.likelihood >= 0.5 && body.likelihood <= 1);
  const spoken = await nextMessage((t) => t.startsWith('hermes/audioServer/kitchen-sat/playBytes/'));
  const reply = decodeWav(spoken.payload);
  assert.ok(reply.samples.length / reply.sampleRate > 0.5, 'the reply is audible speech');
  const finished = JSON.parse((await nextMessage((t) => t === HERMES.sayFinished)).payload.toString());
  assert.equal(finished.siteId, 'kitchen-sat');
  assert.deepEqual(commands, ['turn off the bedroom light']);
});

test('out-of-grammar speech is reported as an ASR error and never reaches the command path', async () => {
  await streamSpeech('kitchen-sat', 'can you tell me a joke');
  const error = JSON.parse((await nextMessage((t) => t === HERMES.asrError)).payload.toString());
  assert.match(error.error, /speech not recognised/);
  assert.deepEqual(commands, ['turn off the bedroom light'], 'nothing new was executed');
  assert.equal(messages.filter((m) => m.topic === HERMES.textCaptured).length, 0);
});

test('hermes/tts/say is spoken as WAV to the site and acknowledged; bad payloads do not stop it', async () => {
  await satellite.publishAsync(HERMES.audioFrame('kitchen-sat'), Buffer.from('not a wav'));
  await satellite.publishAsync(HERMES.say, 'not json');
  await satellite.publishAsync(
    HERMES.say,
    JSON.stringify({ text: 'hello there', siteId: 'hall', id: 'say-1' }),
  );
  const audio = await nextMessage((t) => t === 'hermes/audioServer/hall/playBytes/say-1');
  assert.equal(audio.payload.subarray(0, 4).toString(), 'RIFF');
  const finished = JSON.parse((await nextMessage((t) => t === HERMES.sayFinished)).payload.toString());
  assert.deepEqual(finished, { id: 'say-1', sessionId: '', siteId: 'hall' });
  assert.deepEqual(errors.map((e) => e.message).sort(), [
    'hermes/audioServer/kitchen-sat/audioFrame: bad audio frame: not a WAV file (no RIFF/WAVE header)',
    'hermes/tts/say: payload is not a JSON object',
  ]);
});

test('push-to-talk: audio is heard only between startListening and stopListening, which ends the utterance', async () => {
  const ptt = await listener({ hermes: { siteIds: ['ptt'], pushToTalk: true }, tts: { output: 'none' } });
  pushToTalk = ptt.voice;
  const { heard } = ptt;
  await streamSpeech('ptt', 'turn on the kitchen light'); // not listening yet: ignored
  await satellite.publishAsync(HERMES.startListening, JSON.stringify({ siteId: 'ptt', sessionId: 'p1' }));
  const clip = await speech('stop the robot');
  const samples = resample(clip.samples, clip.sampleRate, 16000);
  const all = new Float32Array(8000 + samples.length); // no trailing silence: stopListening must end it
  all.set(samples, 8000);
  for (let at = 0; at < all.length; at += 1024) {
    await satellite.publishAsync(HERMES.audioFrame('ptt'), encodeWav(all.subarray(at, at + 1024), 16000));
  }
  await satellite.publishAsync(HERMES.stopListening, JSON.stringify({ siteId: 'ptt', sessionId: 'p1' }));
  const captured = JSON.parse((await nextMessage((t) => t === HERMES.textCaptured)).payload.toString());
  assert.equal(captured.text, 'stop the robot');
  assert.equal(captured.siteId, 'ptt');
  assert.equal(captured.sessionId, 'p1');
  assert.deepEqual(heard, ['stop the robot']);
});

test('a satellite utterance is decoded once, early: at the pause, before the trailing silence closes it', async () => {
  // A recogniser that records what it was given (the contract lets users plug in their own).
  const given: number[] = [];
  const recording = await VoiceEngine.open({
    grammarDir: await buildFixtureGrammar(),
    minConfidence: 0.5,
    recognizer: {
      name: 'recording',
      recognize: async (samples) => {
        given.push(samples.length);
        return { text: 'turn on the light', confidence: 1, accepted: true, timing: { decodeMs: 0 } };
      },
      close: async () => {},
    },
  });
  const { voice: early, heard } = await listener(
    { hermes: { siteIds: ['porch'] }, tts: { enabled: false } },
    recording,
  );
  try {
    await streamSpeech('porch', 'turn on the light');
    await nextMessage((t) => t === HERMES.textCaptured);
    assert.deepEqual(heard, ['turn on the light']);
    assert.equal(given.length, 1, 'one decode for one utterance');
    const decoded = given[0]!;
    // The same audio as a file gives the closed utterance for comparison: the early decode was taken at the
    // pause, so it lacks most of the trailing silence the utterance closes on.
    const [file] = await recording.listenFile(encodeWav(await paddedSpeech('turn on the light'), 16000));
    const trailingSamples = (voiceSchema.parse({}).vad.trailingSilenceMs * 16000) / 1000;
    assert.ok(
      file!.utterance.samples.length - decoded >= trailingSamples / 2,
      `decoded ${decoded} samples, the closed utterance has ${file!.utterance.samples.length}`,
    );
  } finally {
    await early.stop();
    await recording.close();
  }
});

test('frames from more satellites than voice.hermes.maxSites are refused with a clear error, once per site', async () => {
  const { voice: capped, errors: refused } = await listener({
    hermes: { maxSites: 1 },
    tts: { enabled: false },
  });
  try {
    const silence = encodeWav(new Float32Array(1024), 16000);
    await satellite.publishAsync(HERMES.audioFrame('cap-one'), silence);
    await satellite.publishAsync(HERMES.audioFrame('cap-two'), silence);
    await satellite.publishAsync(HERMES.audioFrame('cap-two'), silence);
    await satellite.publishAsync(HERMES.audioFrame('cap-one'), silence);
    const deadline = Date.now() + 10000;
    while (refused.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // let the third frame (a known site) through before judging
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      refused.map((e) => e.message),
      [
        'hermes/audioServer/cap-two/audioFrame: ignored, already hearing 1 satellites (voice.hermes.maxSites; list them in voice.hermes.siteIds); reported once',
      ],
    );
  } finally {
    await capped.stop();
  }
});

test('stop() releases every site and a later start() hears them afresh', async () => {
  const { voice: restartable, heard } = await listener({
    hermes: { siteIds: ['again'] },
    tts: { enabled: false },
  });
  try {
    await streamSpeech('again', 'turn off the bedroom light');
    await nextMessage((t) => t === HERMES.textCaptured);
    assert.deepEqual(restartable.activeSites, ['again']);
    await restartable.stop();
    assert.deepEqual(restartable.activeSites, [], 'the VAD sessions are released');
    await restartable.start();
    await streamSpeech('again', 'stop the robot');
    await nextMessage((t) => t === HERMES.textCaptured);
    assert.deepEqual(heard, ['turn off the bedroom light', 'stop the robot']);
  } finally {
    await restartable.stop();
  }
});
