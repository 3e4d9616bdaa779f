import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildPipeline } from '../../agent/default-pipeline.ts';
import { startVoice, type VoiceService } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import { type Rig, startRig } from '../helpers/agent.ts';
import { buildFixtureGrammar, publishSpeech } from '../helpers/speech.ts';
import { TableParser } from '../helpers/table-parser.ts';

// Whether a spoken command needs its "yes" is decided by a preview that spends no rate-limit token and
// publishes nothing, so a spent voice budget cannot turn the question off. With agent.hermes.enabled the
// command itself runs from hermes/asr/textCaptured, under that topic's own rate limit.

let rig: Rig;
let voice: VoiceService | undefined;

before(async () => {
  rig = await startRig(
    {
      drivers: { world: { kind: 'virtual', timeScale: 20 } },
      // One command per source, then none for a long time.
      agent: { hermes: { enabled: true }, rateLimit: { perSecond: 0.001, burst: 1 } },
      voice: { enabled: true, grammar: await buildFixtureGrammar(), confirm: { timeoutMs: 60000 } },
    },
    (config, deps) =>
      buildPipeline(
        config,
        deps,
        new TableParser({
          'drive forward two meters': {
            intent: 'robot.move',
            confidence: 0.97,
            slots: [
              { name: 'direction', text: 'forward', start: 6, end: 13, value: 'forward', type: 'direction' },
              {
                name: 'distance',
                text: 'two meters',
                start: 14,
                end: 24,
                value: 2,
                type: 'builtin.distance',
              },
            ],
          },
        }),
      ),
    (agent) => [agent.topics.commandResult, 'hermes/asr/textCaptured', 'hermes/audioServer/+/playBytes/+'],
  );
  voice = await startVoice(rig.agent, createLogger(rig.agent.currentConfig.log));
});

after(async () => {
  await voice?.stop();
  await rig?.close();
});

test('a motion heard with the voice budget spent is still asked back (the preview is free and silent)', async () => {
  assert.ok(voice, 'voice started');
  // The voice source's only token is spent.
  const spent = await rig.agent.command({ text: 'turn on the kitchen light', source: 'voice', dryRun: true });
  assert.notEqual(spent.status, 'rejected');
  const limited = await rig.agent.command({
    text: 'turn on the kitchen light',
    source: 'voice',
    dryRun: true,
  });
  assert.equal(limited.status, 'rejected', 'the voice source is rate limited');
  await publishSpeech(rig.probe.client, 'porch', 'drive forward two meters');
  await rig.probe.waitFor(
    () =>
      rig.probe.messages.some((m) => m.topic.startsWith('hermes/audioServer/porch/playBytes/')) ||
      rig.probe.messages.some((m) => m.topic === 'hermes/asr/textCaptured'),
    'the question (or the command captured)',
    30000,
  );
  assert.ok(
    rig.probe.messages.some((m) => m.topic.startsWith('hermes/audioServer/porch/playBytes/')),
    'the command was asked back',
  );
  assert.equal(
    rig.probe.messages.filter((m) => m.topic === 'hermes/asr/textCaptured').length,
    0,
    'not captured (the agent would run it) before a "yes"',
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const results = rig.probe.messages.filter((m) => m.topic === rig.agent.topics.commandResult);
  assert.ok(
    results.some((m) => JSON.parse(m.payload).text === 'turn on the kitchen light'),
    'results do reach the probe',
  );
  assert.ok(
    !results.some((m) => JSON.parse(m.payload).text === 'drive forward two meters'),
    'the preview published no result',
  );
  const pose = rig.agent.state.get('robot.pose')?.value as { x: number } | undefined;
  assert.equal(pose?.x ?? 0, 0, 'the robot has not moved');
});
