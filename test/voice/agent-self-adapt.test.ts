import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readEnrolment } from '../../agent/ingress/voice/enrol/model-dir.ts';
import { HERMES } from '../../agent/ingress/voice/hermes.ts';
import { startVoice } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import { Probe, startAgent } from '../helpers/agent.ts';
import { capturedLog, until } from '../helpers/logs.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { publishSpeech } from '../helpers/speech.ts';
import { voiceAgentConfig } from '../helpers/voice-agent.ts';

// `sling start` with voice.adaptation on: commands spoken to a satellite (real mosquitto, VAD, PocketSphinx)
// are kept, the model is adapted in the background (real sphinxtrain), voice goes on with it, and starts on it
// after a restart.
const COMMANDS = [
  'turn on the kitchen light',
  'switch off the bedroom lights',
  'make the lounge light blue',
  'turn off the kitchen lights',
  'switch on the living room light',
  'set the bedroom light red',
];

test('spoken commands adapt the acoustic model while the agent runs; after a restart voice starts on it', async () => {
  const broker = await startMosquitto();
  const config = await voiceAgentConfig(broker.url, {
    adaptation: { enabled: true, minCommands: 10, every: 50 },
  });
  const { stream: logStream, logged } = capturedLog();
  const agent = await startAgent(config, testPipeline());
  let voice = await startVoice(agent, createLogger(config.log, logStream));
  const probe = await Probe.connect(broker.url);
  try {
    assert.ok(voice, 'voice started');
    assert.equal(logged('voice: self-adaptation on')[0]?.adaptedModel, null, 'no model yet');
    await probe.subscribe('hermes/asr/textCaptured', HERMES.asrError);
    await until(() => logged('voice: listening').length > 0, 'voice subscribed', 30000);
    const count = (topic: string) => probe.messages.filter((m) => m.topic === topic).length;
    const captured = () => count('hermes/asr/textCaptured');
    const answered = () => captured() + count(HERMES.asrError);
    for (let i = 0; captured() < 10; i++) {
      assert.ok(i < 20, `only ${captured()} of 20 commands were heard`);
      const before = answered();
      await publishSpeech(probe.client, 'porch', COMMANDS[i % COMMANDS.length]!);
      await until(() => answered() > before, 'the command heard or refused', 30000);
    }
    await until(
      () =>
        logged('voice: acoustic model adapted').length > 0 ||
        logged('voice: self-adaptation failed').length > 0,
      'the adapted model',
      120000,
    );
    assert.deepEqual(logged('voice: self-adaptation failed'), []);
    const adapted = logged('voice: acoustic model adapted')[0]!;
    assert.equal(adapted.commands, 10);
    const model = join(config.voice.adaptation.dir, 'acoustic');
    assert.equal(adapted.dir, model);
    assert.equal(readEnrolment(model)?.source, 'heard');

    // Heard with the adapted model.
    const before = captured();
    await publishSpeech(probe.client, 'porch', 'turn on the kitchen light');
    await until(() => captured() > before, 'a command heard by the adapted model', 30000);

    await voice.stop();
    voice = await startVoice(agent, createLogger(config.log, logStream));
    assert.ok(voice);
    assert.equal(logged('voice: self-adaptation on').at(-1)?.adaptedModel, model, 'starts on it');
    assert.ok(existsSync(join(config.voice.adaptation.dir, 'heard.tsv')));
  } finally {
    await voice?.stop();
    await probe.close();
    await agent.stop();
    await broker.stop();
  }
});
