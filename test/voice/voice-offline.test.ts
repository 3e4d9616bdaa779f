import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startVoice } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import { Probe, startAgent, testConfig } from '../helpers/agent.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { buildFixtureGrammar, publishSpeech } from '../helpers/speech.ts';

// The agent starts while its broker is down (a Pi booting, the broker's service not up yet) and connects when
// it comes: voice must do the same, not fail the agent's start.
test('voice starts while the broker is down and hears commands once it is up', async () => {
  const broker = await startMosquitto();
  const config = testConfig({
    mqtt: { url: broker.url },
    agent: { reconnect: { minMs: 100, maxMs: 500 } },
    voice: {
      enabled: true,
      grammar: await buildFixtureGrammar(),
      tts: { output: 'none' },
      confirm: { enabled: false },
    },
  });
  const pipeline = testPipeline();
  const agent = await startAgent(config, pipeline);
  // Down once the agent is up (waiting for a broker at start-up costs the agent 5 s): the same for voice.
  await broker.kill();
  const voice = await startVoice(agent, createLogger(config.log));
  let probe: Probe | undefined;
  try {
    assert.ok(voice, 'voice started without the broker');
    await broker.start();
    probe = await Probe.connect(broker.url);
    await probe.subscribe('hermes/asr/textCaptured');
    // Until voice has (re)subscribed, a satellite's speech goes nowhere: say it until it is heard.
    const deadline = Date.now() + 60000;
    while (!probe.messages.some((m) => m.topic === 'hermes/asr/textCaptured')) {
      if (Date.now() > deadline) throw new Error('voice never heard the satellite');
      await publishSpeech(probe.client, 'porch', 'turn on the kitchen light');
      await new Promise((r) => setTimeout(r, 500));
    }
    const captured = probe.messages.find((m) => m.topic === 'hermes/asr/textCaptured')!;
    assert.equal(JSON.parse(captured.payload).text, 'turn on the kitchen light');
  } finally {
    await voice?.stop();
    await probe?.close();
    await agent.stop();
    await broker.stop();
  }
});
