import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SlingConfigInput } from '../../agent/config/schema.ts';
import { checkMicrophone, checkWakeWord } from '../../agent/ingress/voice/dialogue-doctor.ts';
import { testConfig } from '../helpers/agent.ts';
import { buildFixtureGrammar } from '../helpers/speech.ts';

const withVoice = (voice: SlingConfigInput['voice']) => testConfig({ voice });

test('sling doctor: microphone readiness fails only when it is on, with the fix', () => {
  const on = checkMicrophone(
    withVoice({ enabled: true, microphone: { enabled: true, command: ['/nonexistent/arecord'] } }),
  );
  assert.equal(on.status, 'fail');
  assert.match(on.detail, /\/nonexistent\/arecord not found/);
  assert.equal(on.fix, 'sudo apt install alsa-utils');
  const off = checkMicrophone(withVoice({ microphone: { command: ['/nonexistent/arecord'] } }));
  assert.equal(off.status, 'warn');
  const standIn = checkMicrophone(
    withVoice({ enabled: true, microphone: { enabled: true, command: ['cat'] } }),
  );
  assert.equal(standIn.status, 'pass');
});

test('sling doctor: wake word readiness names the phrase, and what is missing', async () => {
  const grammar = await buildFixtureGrammar();
  const ready = checkWakeWord(withVoice({ enabled: true, grammar, wake: { enabled: true } }));
  assert.equal(ready.status, 'pass', ready.detail);
  assert.match(ready.detail, /"hey sling"/);
  const noLoop = checkWakeWord(
    withVoice({ enabled: true, grammar: '/nonexistent', wake: { enabled: true } }),
  );
  assert.equal(noLoop.status, 'fail');
  assert.match(noLoop.detail, /loop\.jsgf/);
  const odd = checkWakeWord(
    withVoice({ enabled: true, grammar, wake: { enabled: true, phrase: 'hey zorblax' } }),
  );
  assert.equal(odd.status, 'warn');
  assert.match(odd.detail, /espeak-ng rules: zorblax/);
  const off = checkWakeWord(withVoice({}));
  assert.equal(off.status, 'pass');
  assert.match(
    off.detail,
    /every utterance is a command; where people talk near the device, turn voice\.wake on/,
  );
});
