import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SlingConfig } from '../../agent/config/schema.ts';
import { startVoiceFollowingConfig } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import { Probe, startAgent } from '../helpers/agent.ts';
import { capturedLog, until } from '../helpers/logs.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { publishSpeech } from '../helpers/speech.ts';
import { voiceAgentConfig } from '../helpers/voice-agent.ts';

// A `voice` change from the fleet is live: voice restarts on it (real mosquitto, VAD, PocketSphinx), and a voice
// config this machine cannot run is refused before anything changes.

test('a voice config change restarts voice on it; one voice could not run is refused and nothing changes', async () => {
  const broker = await startMosquitto();
  const config = await voiceAgentConfig(broker.url);
  const { stream: logStream, logged } = capturedLog();
  const agent = await startAgent(config, testPipeline());
  const voice = await startVoiceFollowingConfig(agent, createLogger(config.log, logStream));
  const probe = await Probe.connect(broker.url);
  const withVoice = (voiceSettings: Partial<SlingConfig['voice']>): SlingConfig => ({
    ...agent.currentConfig,
    voice: { ...agent.currentConfig.voice, ...voiceSettings },
  });
  try {
    await probe.subscribe('hermes/asr/textCaptured');
    await until(() => logged('voice: listening').length === 1, 'voice listening', 30000);
    const captured = () => probe.messages.filter((m) => m.topic === 'hermes/asr/textCaptured').length;

    await assert.rejects(
      agent.applyConfig(withVoice({ grammar: '/nowhere/voice' })),
      /cannot apply voice: missing: voice grammar \/nowhere\/voice/,
    );
    assert.equal(agent.currentConfig.voice.grammar, config.voice.grammar, 'nothing changed');
    assert.equal(logged('voice: restarted').length, 0);

    const result = await agent.applyConfig(withVoice({ minConfidence: 0.45 }));
    assert.deepEqual(result.applied, ['voice']);
    assert.equal(logged('voice: restarted').at(-1)?.running, true);
    await until(() => logged('voice: listening').length === 2, 'voice listening again', 30000);
    const before = captured();
    await publishSpeech(probe.client, 'porch', 'turn on the kitchen light');
    await until(() => captured() > before, 'the command heard by the restarted voice', 30000);

    const off = await agent.applyConfig(withVoice({ enabled: false }));
    assert.deepEqual(off.applied, ['voice']);
    assert.equal(logged('voice: restarted').at(-1)?.running, false, 'voice turned off by the fleet stops');
  } finally {
    await voice.stop();
    await probe.close();
    await agent.stop();
    await broker.stop();
  }
});
