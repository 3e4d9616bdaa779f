import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPipeline } from '../../agent/default-pipeline.ts';
import { HEARD_MANIFEST } from '../../agent/ingress/voice/enrol/heard-store.ts';
import { startVoice, type VoiceService } from '../../agent/ingress/voice/service.ts';
import { createLogger } from '../../agent/log.ts';
import type { CommandResult } from '../../agent/report/result.ts';
import { type Rig, startRig } from '../helpers/agent.ts';
import { buildFixtureGrammar, publishSpeech, trigramCopy } from '../helpers/speech.ts';
import { type TableParse, TableParser } from '../helpers/table-parser.ts';

// Spoken confirmation of motion heard by voice, end to end: Hermes audio frames through a real mosquitto,
// VAD, PocketSphinx with the trigram model (as the default world decodes; it can hear a leading "and then"),
// the agent with the default world's skills, safety and virtual robot.

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
      voice: {
        enabled: true,
        grammar: trigramCopy(await buildFixtureGrammar()),
        confirm: { timeoutMs: 60000 },
        adaptation: { enabled: true },
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

const say = (siteId: string, text: string) => publishSpeech(rig.probe.client, siteId, text);

const x = () => (rig.agent.state.get('robot.pose')?.value as { x: number } | undefined)?.x ?? 0;
const spoken = (siteId: string) =>
  rig.probe.messages.filter((m) => m.topic.startsWith(`hermes/audioServer/${siteId}/playBytes/`)).length;
const executed = (intent: string) =>
  rig.probe
    .json<{ intent: string; dryRun?: boolean; status: string }>(rig.agent.topics.commandResult)
    .filter((r) => r.intent === intent && !r.dryRun);
/** Commands kept for self-adaptation (voice.adaptation): the words heard, one command a line. */
const kept = () => {
  const file = join(rig.agent.currentConfig.voice.adaptation.dir, HEARD_MANIFEST);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[1]);
};
const nthSpoken = (siteId: string, n: number, what: string) =>
  rig.probe.waitFor(() => spoken(siteId) >= n, what, 30000);

test('a spoken motion command is asked back and runs only after "yes" from the same site', async () => {
  assert.ok(voice, 'voice started');
  await say('porch', 'drive forward two meters');
  await nthSpoken('porch', 1, 'the question');
  assert.equal(executed('robot.move').length, 0, 'not executed before the answer');
  assert.equal(x(), 0, 'the robot has not moved');
  assert.deepEqual(kept(), [], 'not kept for adaptation before the "yes" says it was heard right');
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
  assert.deepEqual(kept(), ['drive forward two meters'], 'confirmed: kept with its words; the "yes" is not');
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
  assert.ok(!kept().includes('drive forward one meter'), 'what the speaker said no to is not kept');
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
  assert.match(kept().at(-1) ?? '', /^turn on the kitchen lights?$/, 'accepted outright: kept');
  assert.ok(!kept().includes('drive forward one meter'));
});

/** Waits until the site has been quiet for a second: replies to earlier commands are spoken after they finish. */
async function quiet(siteId: string): Promise<void> {
  let count: number;
  do {
    count = spoken(siteId);
    await new Promise((r) => setTimeout(r, 1000));
  } while (spoken(siteId) !== count);
}

test('"and then …" said while the first half awaits its "yes" joins it: one question, both run on "yes"', async () => {
  await quiet('porch');
  const before = x();
  const questions = spoken('porch');
  const lightsOn = executed('light.on').length;
  await say('porch', 'drive forward one meter');
  await nthSpoken('porch', questions + 1, 'the question');
  await say('porch', 'and then turn on the kitchen light');
  await nthSpoken('porch', questions + 2, 'the question about both');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(spoken('porch'), questions + 2, 'asked again, not "Cancelled."');
  assert.equal(executed('light.on').length, lightsOn, 'the continuation waits for the same "yes"');
  assert.equal(x(), before);
  await say('porch', 'yes');
  const joined = 'drive forward one meter then turn on the kitchen light';
  const message = await rig.probe.waitFor(
    (m) => m.topic === rig.agent.topics.commandResult && JSON.parse(m.payload).text === joined,
    'the two run as one command',
    30000,
  );
  const result = JSON.parse(message.payload) as CommandResult;
  assert.equal(result.status, 'ok');
  assert.deepEqual(
    result.clauses?.map((c) => c.intent),
    ['robot.move', 'light.on'],
  );
  await rig.probe.waitFor(() => x() > before + 0.9, 'the robot moved a meter', 30000);
});
