import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Confirmations,
  classifyAnswer,
  confirmSchema,
  needsConfirmation,
  onlyStops,
  questionFor,
} from '../../agent/ingress/voice/confirm.ts';
import { backoffMs, s16leToFloat32 } from '../../agent/ingress/voice/mic.ts';
import { contrastDoubt } from '../../agent/ingress/voice/pocketsphinx.ts';
import { voiceSchema } from '../../agent/ingress/voice/schema.ts';
import { parseKeyphraseOutput, WakeGate } from '../../agent/ingress/voice/wake.ts';

// The pure rules of the voice dialogue: wake gating, confirmation, PCM and backoff arithmetic.

test('keyphrase output: segment lines of the phrase become sample positions; other lines are ignored', () => {
  const out = 'hey sling\nhey sling 1.010 1.250 0.82\nsling 0.2 0.3 0.9\nhey sling 0.300 0.640 0.80\n';
  const found = parseKeyphraseOutput(out, 'Hey  Sling');
  assert.deepEqual(
    found.map((d) => [d.start, d.end]),
    [
      [4800, 10240],
      [16160, 20000],
    ],
  );
  assert.deepEqual(parseKeyphraseOutput('hey sling\n', 'hey sling'), []);
});

test('wake gate: asleep ignores speech; the phrase alone wakes for one command until the timeout', () => {
  const gate = new WakeGate(8000);
  assert.deepEqual(gate.route(0, undefined, 16000), { kind: 'ignore' });
  const phrase = { phrase: 'hey sling', start: 1000, end: 12000, probability: 0.8 };
  assert.equal(gate.route(1000, phrase, 14000).kind, 'wake');
  assert.deepEqual(gate.route(5000, undefined, 20000), { kind: 'command', from: 0, afterWake: false });
  // one command per wake
  assert.deepEqual(gate.route(6000, undefined, 20000), { kind: 'ignore' });
  assert.equal(gate.route(10000, phrase, 13000).kind, 'wake');
  assert.deepEqual(gate.route(18001, undefined, 20000), { kind: 'ignore' }, 'timed out');
});

test('wake gate: a command spoken straight after the phrase is cut from its end', () => {
  const gate = new WakeGate(8000);
  const phrase = { phrase: 'hey sling', start: 1000, end: 12000, probability: 0.8 };
  assert.deepEqual(gate.route(0, phrase, 40000), { kind: 'command', from: 12800, afterWake: true });
  assert.equal(gate.awake(1), false, 'the command used the wake');
  gate.wake(100);
  assert.equal(gate.awake(8100), true);
  assert.equal(gate.awake(8101), false);
  assert.equal(new WakeGate(8000).route(0, phrase, 18000).kind, 'wake', 'too little speech after the phrase');
});

test('answers: only a whole configured phrase counts; yes inside a sentence is not consent', () => {
  const c = confirmSchema.parse({});
  assert.equal(classifyAnswer('yes', c), 'yes');
  assert.equal(classifyAnswer('Yes!', c), 'yes');
  assert.equal(classifyAnswer('confirm', c), 'yes');
  assert.equal(classifyAnswer('no', c), 'no');
  assert.equal(classifyAnswer('cancel', c), 'no');
  assert.equal(classifyAnswer('yes turn on the light', c), 'other');
  assert.equal(classifyAnswer('', c), 'other');
});

test('a command only stops when every clause is a stop or an e-stop (such a command runs even in doubt)', () => {
  assert.equal(onlyStops(['robot.stop']), true);
  assert.equal(onlyStops(['robot.estop', 'robot.stop']), true);
  assert.equal(onlyStops(['robot.reset_estop']), false, 'a reset is no stop');
  assert.equal(onlyStops(['robot.move', 'robot.stop']), false, 'it moves first');
  assert.equal(onlyStops(['robot.stop', null]), false, 'a clause not understood');
  assert.equal(onlyStops([]), false);
});

test('confirmation is needed for configured motion intents, never for stops', () => {
  const { intents } = confirmSchema.parse({});
  assert.equal(needsConfirmation(['robot.move'], intents), true);
  assert.equal(needsConfirmation(['light.on'], intents), false);
  assert.equal(needsConfirmation(['light.on', 'robot.turn'], intents), true, 'any clause');
  assert.equal(needsConfirmation([null], intents), false);
  // by default also the gripper and an e-stop reset (heard in other speech: "let go", "unlock the motors")
  assert.equal(needsConfirmation(['gripper.open'], intents), true);
  assert.equal(needsConfirmation(['robot.reset_estop'], intents), true);
  assert.equal(needsConfirmation(['robot.set_speed'], intents), false, 'speed changes are not held');
  assert.equal(needsConfirmation(['robot.reset_estop'], ['robot.*']), true, 'a reset is no stop');
  assert.equal(needsConfirmation(['robot.stop'], ['robot.*']), false);
  assert.equal(needsConfirmation(['robot.estop'], ['robot.*']), false);
  assert.equal(needsConfirmation(['robot.stop', 'robot.estop'], ['robot.*']), false, 'stops are never held');
  assert.equal(
    needsConfirmation(['robot.move', 'robot.stop'], ['robot.*']),
    true,
    'a motion is held even when the sentence also stops',
  );
  assert.equal(needsConfirmation(['gripper.open'], ['gripper.*']), true);
  assert.throws(() => confirmSchema.parse({ intents: ['robot.*.x*'] }));
});

test('a command too close to its opposite: the word in doubt and its rival make the question', () => {
  const doubt = contrastDoubt(
    ['turn', 'on', 'the', 'kitchen', 'light'],
    ['turn', 'off', 'the', 'kitchen', 'light'],
  );
  assert.deepEqual(doubt, { word: 'on', rival: 'off' });
  assert.equal(questionFor('turn on the kitchen light', doubt), 'turn on the kitchen light? On, not off?');
  assert.equal(questionFor('drive forward 2 meters'), 'drive forward 2 meters?');
  assert.equal(
    contrastDoubt(['lights', 'on'], ['lights', 'on']),
    undefined,
    'no differing word: nothing to ask',
  );
  assert.equal(confirmSchema.parse({}).askWhenUnsure, true);
});

test('confirmations: yes executes once, no/other/timeout cancel, sites are independent', () => {
  const book = new Confirmations(8000);
  const move = { text: 'drive forward two meters', confidence: 0.9, sessionId: 's1' };
  book.ask('porch', move, 0);
  assert.equal(book.waiting('porch', 100), true);
  assert.equal(book.waiting('hall', 100), false);
  assert.deepEqual(book.answer('hall', 'yes', 100), { kind: 'none' }, 'another site cannot confirm');
  assert.deepEqual(book.answer('porch', 'yes', 100), { kind: 'execute', command: move });
  assert.deepEqual(book.answer('porch', 'yes', 200), { kind: 'none' }, 'executes once');
  book.ask('porch', move, 0);
  assert.deepEqual(book.answer('porch', 'no', 10), { kind: 'cancel', command: move, reason: 'no' });
  book.ask('porch', move, 0);
  assert.deepEqual(book.answer('porch', 'other', 10), { kind: 'cancel', command: move, reason: 'other' });
  book.ask('porch', move, 0);
  assert.deepEqual(book.answer('porch', 'yes', 8001), { kind: 'cancel', command: move, reason: 'timeout' });
  book.ask('porch', move, 0);
  assert.deepEqual(book.expire(5000), []);
  assert.deepEqual(book.expire(8001), [{ siteId: 'porch', command: move }]);
  assert.equal(book.waiting('porch', 8001), false);
});

test('PCM and backoff: S16_LE samples scale to [-1, 1]; restarts double up to the cap', () => {
  const pcm = Buffer.alloc(6);
  pcm.writeInt16LE(-32768, 0);
  pcm.writeInt16LE(16384, 2);
  pcm.writeInt16LE(0, 4);
  assert.deepEqual([...s16leToFloat32(pcm)], [-1, 0.5, 0]);
  assert.deepEqual(
    [0, 1, 2, 5, 40].map((n) => backoffMs(n, 1000, 30000)),
    [1000, 2000, 4000, 30000, 30000],
  );
});

test('voice config: wake, confirm and microphone default safely and validate', () => {
  const v = voiceSchema.parse({});
  assert.equal(v.wake.enabled, false);
  assert.equal(v.wake.phrase, 'hey sling');
  assert.equal(v.confirm.enabled, true);
  assert.ok(v.confirm.intents.includes('robot.move'));
  assert.equal(v.microphone.enabled, false);
  assert.equal(v.microphone.command[0], 'arecord');
  assert.throws(() => voiceSchema.parse({ wake: { phrase: 'hey; rm -rf' } }));
  assert.throws(() => voiceSchema.parse({ microphone: { command: [] } }));
});
