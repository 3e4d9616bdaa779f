import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decide } from '../../agent/decide/decide.ts';
import { loadSkills } from '../../agent/decide/load-skills.ts';
import { defaultWorld } from '../../agent/decide/world.ts';
import { loadParser, type OnnxParser } from '../../agent/nlu/index.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import { DEFAULT_MODEL_DIR, defaultModelSources } from '../../models/default-sources.ts';

describe('the committed default model', () => {
  const dir = fromProjectRoot(DEFAULT_MODEL_DIR);
  let parser: OnnxParser;
  before(async () => {
    parser = await loadParser(dir);
  });
  after(async () => {
    await parser?.release();
  });

  it('was built from the current spec and entity samplers (else run npm run build:model)', () => {
    const recorded = JSON.parse(readFileSync(`${dir}/source.json`, 'utf8'));
    const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
    const now = defaultModelSources();
    assert.equal(
      recorded.specSha256,
      now.specSha256,
      'config/intents/default.yaml changed since the model was built',
    );
    assert.equal(manifest.trainingData.sha256, now.specSha256, 'the manifest names another spec');
    assert.equal(
      recorded.trainingSentencesSha256,
      now.trainingSentencesSha256,
      'the training sentences changed (a builtin entity sampler?) since the model was built',
    );
  });

  it('plans a compound command and refuses chit-chat, end to end through ONNX', async () => {
    const world = defaultWorld();
    const ctx = { world, skills: loadSkills(fromProjectRoot(world.skills)) };
    const { plan } = await decide(parser, 'drive forward two meters then turn left', ctx);
    assert.deepEqual(plan.actions, [
      { device: 'robot', action: 'move', params: { distance_m: 2 } },
      { device: 'robot', action: 'turn', params: { angle_deg: 90 } },
    ]);
    const lights = await decide(parser, 'dim the kitchen light to 30 percent', ctx);
    assert.deepEqual(lights.plan.actions, [
      { device: 'light.kitchen', action: 'set', params: { brightness_pct: 30 } },
    ]);
    const chat = await decide(parser, 'tell me a joke', ctx);
    assert.deepEqual(chat.plan.actions, []);
    assert.ok(chat.plan.refused);
  });

  it('sling parse --json prints the parse with the plan, and refuses out-of-scope input', () => {
    const sling = (text: string) => {
      const run = spawnSync(process.execPath, [fromProjectRoot('agent/sling.js'), 'parse', '--json', text], {
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      return JSON.parse(run.stdout);
    };
    const out = sling('turn left then stop');
    assert.equal(out.intent, 'robot.turn');
    assert.ok(out.confidence > 0 && Array.isArray(out.slots));
    assert.deepEqual(out.actions, [
      { device: 'robot', action: 'turn', params: { angle_deg: 90 } },
      { device: 'robot', action: 'stop', params: {} },
    ]);
    assert.equal(typeof out.reply, 'string');
    const none = sling('what is the capital of peru');
    assert.deepEqual(none.actions, []);
    assert.equal(none.reply, "Sorry, I didn't understand that.");
  });
});
