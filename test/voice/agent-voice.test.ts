import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import { HERMES } from '../../agent/ingress/voice/hermes.ts';
import { resample } from '../../agent/ingress/voice/resample.ts';
import { startVoice, type VoiceService } from '../../agent/ingress/voice/service.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { createLogger } from '../../agent/log.ts';
import { Probe, startAgent, testConfig } from '../helpers/agent.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { buildFixtureGrammar, speech } from '../helpers/speech.ts';

// `sling start` with voice: speech from a satellite is executed by the agent and the reply is spoken.
let broker: Mosquitto;
let agent: Agent;
let voice: VoiceService | undefined;
let probe: Probe;
const pipeline = testPipeline();

before(async () => {
  broker = await startMosquitto();
  const config = testConfig({
    mqtt: { url: broker.url },
    voice: { enabled: true, grammar: await buildFixtureGrammar() },
  });
  agent = await startAgent(config, pipeline);
  voice = await startVoice(agent, createLogger(config.log));
  probe = await Probe.connect(broker.url);
  await probe.subscribe(
    'hermes/asr/textCaptured',
    'hermes/audioServer/+/playBytes/+',
    agent.topics.commandResult,
  );
});

after(async () => {
  await voice?.stop();
  await probe?.close();
  await agent?.stop();
  await broker?.stop();
});

test('a spoken command is executed once by the agent and its reply is spoken back to the site', async () => {
  assert.ok(voice, 'voice started');
  const clip = await speech('turn on the kitchen light');
  const samples = resample(clip.samples, clip.sampleRate, 16000);
  const all = new Float32Array(8000 + samples.length + 16000);
  all.set(samples, 8000);
  for (let at = 0; at < all.length; at += 2048) {
    await probe.client.publishAsync(
      HERMES.audioFrame('porch'),
      encodeWav(all.subarray(at, at + 2048), 16000),
    );
  }
  const result = await probe.waitFor((m) => m.topic === agent.topics.commandResult, 'command result', 30000);
  assert.equal(JSON.parse(result.payload).intent, 'light.on');
  await probe.waitFor(
    (m) => m.topic.startsWith('hermes/audioServer/porch/playBytes/'),
    'spoken reply',
    30000,
  );
  assert.equal(pipeline.executor.executions.length, 1, 'executed exactly once');
  assert.equal(pipeline.executor.executions[0]!.device, 'light.kitchen');
});
