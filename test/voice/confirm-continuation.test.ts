import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildPipeline } from '../../agent/default-pipeline.ts';
import { startVoice, type VoiceService } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import { type Rig, startRig } from '../helpers/agent.ts';
import { buildFixtureGrammar, publishSpeech, trigramCopy } from '../helpers/speech.ts';
import { type TableParse, TableParser } from '../helpers/table-parser.ts';

// A chained command said with a pause while its first half awaits a "yes": Hermes audio through a real
// mosquitto, VAD, PocketSphinx with the trigram model (which can hear a leading "and then"), the agent with the
// default world's skills and virtual robot.

const parses: Record<string, TableParse> = {
  'drive forward one meter': {
    intent: 'robot.move',
    confidence: 0.97,
    slots: [
      { name: 'direction', text: 'forward', start: 6, end: 13, value: 'forward', type: 'direction' },
      { name: 'distance', text: 'one meter', start: 14, end: 23, value: 1, type: 'builtin.distance' },
    ],
  },
  'turn on the kitchen light': {
    intent: 'light.on',
    confidence: 0.98,
    slots: [{ name: 'room', text: 'kitchen', start: 12, end: 19, value: 'kitchen', type: 'room' }],
  },
};

let rig: Rig;
let voice: VoiceService | undefined;

before(async () => {
  rig = await startRig(
    {
      drivers: { world: { kind: 'virtual', timeScale: 20 } },
      voice: {
        enabled: true,
        grammar: trigramCopy(await buildFixtureGrammar()),
        confirm: { timeoutMs: 60000 },
      },
    },
    (config, deps) => buildPipeline(config, deps, new TableParser(parses)),
    (agent) => [agent.topics.commandResult, 'hermes/asr/textCaptured', 'hermes/audioServer/+/playBytes/+'],
  );
  voice = await startVoice(rig.agent, createLogger(rig.agent.currentConfig.log));
});

after(async () => {
  await voice?.stop();
  await rig?.close();
});

const say = (text: string) => publishSpeech(rig.probe.client, 'porch', text);
const spoken = () =>
  rig.probe.messages.filter((m) => m.topic.startsWith('hermes/audioServer/porch/playBytes/')).length;
const x = () => (rig.agent.state.get('robot.pose')?.value as { x: number } | undefined)?.x ?? 0;
const executed = (intent: string) =>
  rig.probe
    .json<{ intent: string; dryRun?: boolean }>(rig.agent.topics.commandResult)
    .filter((r) => r.intent === intent && !r.dryRun);

test('"and then …" said while the first half awaits its "yes" joins it: one question, both run on "yes"', async () => {
  assert.ok(voice, 'voice started');
  await say('drive forward one meter');
  await rig.probe.waitFor(() => spoken() >= 1, 'the question', 30000);
  await say('and then turn on the kitchen light');
  await rig.probe.waitFor(() => spoken() >= 2, 'the question about both', 30000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(spoken(), 2, 'asked again, not "Cancelled."');
  assert.equal(executed('light.on').length, 0, 'the continuation waits for the same "yes"');
  assert.equal(executed('robot.move').length, 0);
  await say('yes');
  await rig.probe.waitFor(
    () => x() > 0.9 && rig.agent.state.get('light.kitchen.on')?.value === true,
    'both halves run: the robot moved a meter and the kitchen light is on',
    30000,
  );
  const captured = rig.probe.json<{ text: string }>('hermes/asr/textCaptured').map((c) => c.text);
  assert.deepEqual(
    captured,
    ['drive forward one meter then turn on the kitchen light'],
    'one command, run once',
  );
});
