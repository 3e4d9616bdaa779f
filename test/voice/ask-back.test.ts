import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPipeline } from '../../agent/default-pipeline.ts';
import { confirmSchema } from '../../agent/ingress/voice/confirm.ts';
import { VoiceDialogue } from '../../agent/ingress/voice/dialogue.ts';
import { startVoice, type VoiceService } from '../../agent/ingress/voice/service.ts';
import { wakeSchema } from '../../agent/ingress/voice/wake.ts';
import { createLogger } from '../../agent/log.ts';
import { type Rig, startRig } from '../helpers/agent.ts';
import { buildFixtureGrammar, publishSpeech } from '../helpers/speech.ts';
import { type TableParse, TableParser } from '../helpers/table-parser.ts';

// A command the contrast check cannot tell from its opposite ("on" / "off") is asked back instead of refused,
// end to end: Hermes audio through a real mosquitto, VAD, PocketSphinx, the agent and its virtual home. The
// grammar's calibration demands a margin no recognition reaches, so every on/off command is in doubt.

const light = (intent: string, at: number): TableParse => ({
  intent,
  confidence: 0.98,
  slots: [{ name: 'room', text: 'kitchen', start: at, end: at + 7, value: 'kitchen', type: 'room' }],
});
const parses: Record<string, TableParse> = {
  'turn on the kitchen light': light('light.on', 12),
  'turn off the kitchen light': light('light.off', 13),
  stop: { intent: 'robot.stop', confidence: 0.98, slots: [] },
};

let rig: Rig;
let voice: VoiceService | undefined;

before(async () => {
  const grammar = await buildFixtureGrammar();
  const manifestFile = join(grammar, 'voice.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  manifest.calibration = { ...manifest.calibration, contrastMargin: 1e9, contrastMarginByWord: {} };
  // "stop" gets a rival that is also a sentence of the grammar (the check weighs only those), so a stop is
  // heard in doubt.
  manifest.contrasts = { ...manifest.contrasts, stop: ['halt'] };
  writeFileSync(manifestFile, JSON.stringify(manifest));
  rig = await startRig(
    {
      drivers: { world: { kind: 'virtual', timeScale: 20 } },
      voice: { enabled: true, grammar, confirm: { timeoutMs: 60000 } },
    },
    (config, deps) => buildPipeline(config, deps, new TableParser(parses)),
    (agent) => [
      agent.topics.commandResult,
      'hermes/asr/textCaptured',
      'hermes/error/asr',
      'hermes/audioServer/+/playBytes/+',
    ],
  );
  voice = await startVoice(rig.agent, createLogger(rig.agent.currentConfig.log));
});

after(async () => {
  await voice?.stop();
  await rig?.close();
});

const say = (siteId: string, text: string) => publishSpeech(rig.probe.client, siteId, text);
// Clean synthetic speech fits its own sentence so well that the rival cannot even be aligned (the check then
// has nothing to weigh): commands are said in a little noise, as in a room.
const command = (siteId: string, text: string) => publishSpeech(rig.probe.client, siteId, text, 2048, 0.01);
const spoken = (siteId: string) =>
  rig.probe.messages.filter((m) => m.topic.startsWith(`hermes/audioServer/${siteId}/playBytes/`)).length;
const executed = (intent: string) =>
  rig.probe
    .json<{ intent: string; dryRun?: boolean }>(rig.agent.topics.commandResult)
    .filter((r) => r.intent === intent && !r.dryRun);
const kitchenOn = () => rig.agent.state.get('light.kitchen.on')?.value;

test('an on/off command too close to call is asked back, and runs only after "yes"', async () => {
  assert.ok(voice, 'voice started');
  await command('porch', 'turn on the kitchen light');
  await rig.probe.waitFor(() => spoken('porch') >= 1, 'the question', 30000);
  assert.equal(executed('light.on').length, 0, 'not run before the answer');
  assert.notEqual(kitchenOn(), true);
  assert.equal(rig.probe.json('hermes/asr/textCaptured').length, 0, 'not captured before the answer');
  assert.equal(rig.probe.json('hermes/error/asr').length, 0, 'asked, not refused');
  await say('porch', 'yes');
  await rig.probe.waitFor(() => executed('light.on').length > 0, 'the confirmed command runs', 30000);
  assert.equal(kitchenOn(), true);
});

test('"no" to the question: nothing changes', async () => {
  const questions = spoken('porch');
  await command('porch', 'turn off the kitchen light');
  await rig.probe.waitFor(() => spoken('porch') >= questions + 1, 'the question', 30000);
  await say('porch', 'no');
  await rig.probe.waitFor(() => spoken('porch') >= questions + 2, 'the cancellation', 30000);
  assert.equal(executed('light.off').length, 0);
  assert.equal(kitchenOn(), true, 'the light stays on');
});

test('a stop heard in doubt runs at once, unasked', async () => {
  // Asked back, it would wait for a "yes" that is never said (the question times out after a minute).
  await command('porch', 'stop');
  await rig.probe.waitFor(() => executed('robot.stop').length > 0, 'the stop runs with no "yes"', 30000);
  assert.ok(
    rig.probe.json<{ text: string }>('hermes/asr/textCaptured').some((c) => c.text === 'stop'),
    'captured as a command',
  );
});

test('with askWhenUnsure off (or no confirmation) a command in doubt stays refused', async () => {
  const answers = {
    name: 'fixed',
    recognize: async () => ({ text: 'yes', confidence: 1, accepted: true, timing: { decodeMs: 0 } }),
    close: async () => {},
  };
  const open = (confirm: object) =>
    VoiceDialogue.open({
      wake: wakeSchema.parse({}),
      confirm: confirmSchema.parse(confirm),
      grammarDir: 'unused',
      minConfidence: 0.5,
      intentsOf: async () => ['light.on'],
      onCancelled: () => {},
      answerRecognizer: answers,
    });
  const command = { text: 'turn on the kitchen light', confidence: 0.9, sessionId: 's' };
  const doubt = { word: 'on', rival: 'off' };
  const asking = await open({});
  assert.deepEqual(await asking.hold('a', command, doubt), {
    question: 'turn on the kitchen light? On, not off?',
  });
  assert.equal(await asking.hold('a', command), undefined, 'light.on needs no "yes" when heard clearly');
  await asking.close();
  const strict = await open({ askWhenUnsure: false });
  assert.equal(await strict.hold('a', command, doubt), undefined);
  await strict.close();
  const off = await open({ enabled: false });
  assert.equal(await off.hold('a', command, doubt), undefined);
  await off.close();
});
