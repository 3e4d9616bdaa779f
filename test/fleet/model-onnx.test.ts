import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { Agent, type PipelineFactory } from '../../agent/agent.ts';
import { startFleet } from '../../agent/fleet/agent-link.ts';
import type { FleetClient } from '../../agent/fleet/client.ts';
import type { ModelReport } from '../../agent/fleet/model/receiver.ts';
import { publishModel } from '../../agent/fleet/model/sender.ts';
import { createLogger } from '../../agent/log.ts';
import { projectRoot } from '../../agent/paths.ts';
import { testConfig } from '../helpers/agent.ts';
import { connect } from '../helpers/fleet.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

// End to end with the real NLU engine: a model trained by `sling train`, delivered in chunks, loaded in a new
// onnxruntime session by the agent's default loader, self-tested with its own sentences, swapped in.

const work = mkdtempSync(join(tmpdir(), 'sling-fleet-onnx-'));
const trained = join(work, 'door');
let broker: Mosquitto;
let operator: MqttClient;

before(async () => {
  writeFileSync(
    join(work, 'door.yaml'),
    [
      'slots:',
      '  door: { type: list, values: { front: [front door, front], garage: [garage door, garage] } }',
      'intents:',
      '  door.open:',
      '    templates: ["(open|unlock) the {door} [please]", "let me in (through|by) the {door}"]',
      '  door.close:',
      '    templates: ["(close|shut|lock) the {door} [please]", "(close|shut) the {door} behind me"]',
    ].join('\n'),
  );
  execFileSync(
    process.execPath,
    [
      resolve(projectRoot, 'agent/sling.js'),
      'train',
      join(work, 'door.yaml'),
      '--out',
      trained,
      '--seed',
      '2',
    ],
    { stdio: 'ignore', timeout: 120_000 },
  );
  broker = await startMosquitto();
  operator = await connect(broker.url, `onnx-operator-${process.pid}`);
});
after(async () => {
  await operator?.endAsync();
  await broker?.stop();
  rmSync(work, { recursive: true, force: true });
});

function modelReport(fleet: FleetClient, match: (r: ModelReport) => boolean): Promise<ModelReport> {
  return new Promise((resolveReport, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching model report')), 30_000);
    const listener = (r: ModelReport) => {
      if (!match(r)) return;
      clearTimeout(timer);
      fleet.off('model-report', listener);
      resolveReport(r);
    };
    fleet.on('model-report', listener);
  });
}

/** A copy of the trained model with the given self-test sentences beside it. */
function variant(name: string, selfTest: { text: string; intent: string }[]): string {
  const dir = join(work, name);
  cpSync(trained, dir, { recursive: true });
  writeFileSync(join(dir, 'selftest.json'), JSON.stringify(selfTest));
  return dir;
}

describe('model delivery with a real ONNX model', { timeout: 180_000 }, () => {
  it('loads and self-tests a trained model in a new session, then the agent runs it; bad ones are refused', async () => {
    const prefix = `onnx${process.pid}`;
    const config = testConfig({
      mqtt: { url: broker.url, prefix },
      fleet: { stateDir: join(work, 'state') },
    });
    const builds: string[] = [];
    const factory: PipelineFactory = async (c) => {
      builds.push(c.nlu.model);
      return {
        parser: { parse: async () => assert.fail('not used') },
        decider: { decide: async () => assert.fail('not used') },
        executor: { execute: async () => [], safeStop: async () => {} },
      };
    };
    const log = createLogger(config.log);
    const agent = await Agent.start({ config, log, pipeline: factory });
    const fleet = await startFleet({ agent, fileConfig: config, log, stateDir: join(work, 'state') });
    try {
      const good = variant('good', [
        { text: 'unlock the garage', intent: 'door.open' },
        { text: 'shut the front door', intent: 'door.close' },
      ]);
      let next = modelReport(fleet, (r) => r.status !== 'receiving');
      await publishModel({ mqtt: operator, prefix, dir: good, target: 'fleet', version: 1 });
      const applied = await next;
      assert.equal(applied.status, 'applied', applied.error ?? '');
      const installed = fleet.model!.installed!.dir;
      assert.equal(agent.currentConfig.nlu.model, installed);
      assert.equal(builds.at(-1), installed, 'the agent rebuilt its pipeline with the delivered model');

      const wrong = variant('wrong', [{ text: 'unlock the garage', intent: 'door.close' }]);
      next = modelReport(fleet, (r) => r.status !== 'receiving');
      await publishModel({ mqtt: operator, prefix, dir: wrong, target: 'fleet', version: 2 });
      const failed = await next;
      assert.equal(failed.status, 'rejected');
      assert.match(
        failed.error!,
        /self-test failed: "unlock the garage" parsed as door\.open, expected door\.close/,
      );

      // Consistent for the fleet (its hashes are of the altered file) but not for the model's own manifest.
      const tampered = variant('tampered', []);
      const onnx = readFileSync(join(tampered, 'model.onnx'));
      onnx[onnx.length - 10] = (onnx[onnx.length - 10] ?? 0) ^ 0xff;
      writeFileSync(join(tampered, 'model.onnx'), onnx);
      next = modelReport(fleet, (r) => r.status !== 'receiving');
      await publishModel({ mqtt: operator, prefix, dir: tampered, target: 'fleet', version: 3 });
      const refused = await next;
      assert.equal(refused.status, 'rejected');
      assert.match(refused.error!, /does not match the manifest/);
      assert.equal(agent.currentConfig.nlu.model, installed, 'the good model stays in use');
    } finally {
      await fleet.stop();
      await agent.stop('test');
    }
  });
});
