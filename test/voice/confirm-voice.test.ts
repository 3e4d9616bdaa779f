import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildPipeline } from '../../agent/default-pipeline.ts';
import { startVoice, type VoiceService } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import { type Rig, startRig } from '../helpers/agent.ts';
import { buildFixtureGrammar, publishSpeech } from '../helpers/speech.ts';
import { type TableParse, TableParser } from '../helpers/table-parser.ts';

// Spoken confirmation of motion heard by voice, end to end: Hermes audio frames through a real mosquitto,
// VAD, PocketSphinx, the agent with the default world's skills, safety and virtual robot.

const distance = (text: string, value: number) => ({
  intent: 'robot.move',
  confidence: 0.97,
  slots: [
    { name: 'direction', text: 'forward', start: 6, end: 13, value: 'forward', type: 'direction' },
    { name: 'distance', text, start: 14, end: 14 + text.length, value, type: 'builtin.distance' },
  ],
});
const parses: Record<string, TableParse> = {
  'drive forward two meters': distance('two meters', 2),
  'drive forward one meter': distance('one meter', 1),
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
      // The longest answer window: a loaded machine must not turn the test's "yes" into a timeout.
      voice: { enabled: true, grammar: await buildFixtureGrammar(), confirm: { timeoutMs: 60000 } },
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

const say = (siteId: string, text: string) => publishSpeech(rig.probe.client, siteId, text);

const x = () => (rig.agent.state.get('robot.pose')?.value as { x: number } | undefined)?.x ?? 0;
const spoken = (siteId: string) =>
  rig.probe.messages.filter((m) => m.topic.startsWith(`hermes/audioServer/${siteId}/playBytes/`)).length;
const executed = (intent: string) =>
  rig.probe
    .json<{ intent: string; dryRun?: boolean; status: string }>(rig.agent.topics.commandResult)
    .filter((r) => r.intent === intent && !r.dryRun);
const nthSpoken = (siteId: string, n: number, what: string) =>
  rig.probe.waitFor(() => spoken(siteId) >= n, what, 30000);

test('a spoken motion command is asked back and runs only after "yes" from the same site', async () => {
  assert.ok(voice, 'voice started');
  await say('porch', 'drive forward two meters');
  await nthSpoken('porch', 1, 'the question');
  assert.equal(executed('robot.move').length, 0, 'not executed before the answer');
  assert.equal(x(), 0, 'the robot has not moved');
  assert.equal(
    rig.probe.json<{ text: string }>('hermes/asr/textCaptured').length,
    0,
    'not captured (the agent would run it) before the answer',
  );
  await say('hall', 'yes'); // another site cannot confirm
  await say('porch', 'yes');
  const result = await rig.probe.waitFor(
    () => executed('robot.move').length > 0,
    'the confirmed command runs',
    30000,
  );
  assert.ok(result);
  assert.equal(executed('robot.move')[0]!.status, 'ok');
  assert.ok(Math.abs(x() - 2) < 0.05, `moved two meters (x = ${x()})`);
  assert.equal(executed('robot.move').length, 1, 'once');
  assert.equal(
    rig.probe
      .json<{ intent: string }>(rig.agent.topics.commandResult)
      .filter((r) => r.intent === 'robot.move').length,
    1,
    'one result: the preview that decided to ask published none',
  );
});

test('"no" cancels: the robot stays where it is', async () => {
  const before = x();
  const questions = spoken('porch');
  await say('porch', 'drive forward one meter');
  await nthSpoken('porch', questions + 1, 'the question');
  await say('porch', 'no');
  await nthSpoken('porch', questions + 2, 'the cancellation');
  assert.equal(executed('robot.move').length, 1, 'only the earlier confirmed move ran');
  assert.equal(x(), before);
});

test('anything else cancels the question and is heard as a command of its own', async () => {
  const before = x();
  const questions = spoken('porch');
  await say('porch', 'drive forward one meter');
  await nthSpoken('porch', questions + 1, 'the question');
  await say('porch', 'turn on the kitchen light');
  await rig.probe.waitFor(() => executed('light.on').length > 0, 'the light command', 30000);
  assert.equal(executed('robot.move').length, 1, 'the question was dropped, not run');
  assert.equal(x(), before);
  assert.equal(rig.agent.state.get('light.kitchen.on')?.value, true);
});
