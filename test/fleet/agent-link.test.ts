import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { Agent, type PipelineFactory } from '../../agent/agent.ts';
import type { SlingConfig } from '../../agent/config/schema.ts';
import { fleetBootConfig, startFleet } from '../../agent/fleet/agent-link.ts';
import type { ConfigReport, FleetClient } from '../../agent/fleet/client.ts';
import type { ModelReport } from '../../agent/fleet/model/receiver.ts';
import { publishModel } from '../../agent/fleet/model/sender.ts';
import { configTopicFor, type LayerId } from '../../agent/fleet/topics.ts';
import { createLogger } from '../../agent/log.ts';
import type { ParseResult } from '../../agent/nlu/types.ts';
import { testConfig } from '../helpers/agent.ts';
import { connect } from '../helpers/fleet.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

let broker: Mosquitto;
let operator: MqttClient;
before(async () => {
  broker = await startMosquitto();
  operator = await connect(broker.url, `link-operator-${process.pid}`);
});
after(async () => {
  await operator?.endAsync();
  await broker?.stop();
});

const parse = (text: string, intent: string | null): ParseResult => ({
  text,
  intent,
  topIntent: intent,
  confidence: 1,
  slots: [],
  alternatives: [],
  timing: { totalMs: 0 },
});

/**
 * A real Agent on mosquitto with a pipeline whose executor runs until the test releases it (a motion in
 * progress) and whose builds are recorded (each build = the agent applying nlu/skills/drivers live).
 */
async function startLinkedAgent(options: { failBuildWhen?: (c: SlingConfig) => boolean } = {}) {
  const prefix = `lk${process.pid}x${Math.random().toString(36).slice(2, 8)}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'sling-link-'));
  const config = testConfig({ mqtt: { url: broker.url, prefix }, fleet: { stateDir } });
  const builds: SlingConfig[] = [];
  let release: (() => void) | undefined;
  let moving: Promise<void> | undefined;
  const factory: PipelineFactory = async (c) => {
    if (options.failBuildWhen?.(c)) throw new Error('driver "arm" failed to open');
    builds.push(c);
    return {
      parser: { parse: async (text: string) => parse(text, 'robot.move') },
      decider: {
        decide: async (text: string) => ({
          text,
          parses: [parse(text, 'robot.move')],
          plan: { actions: [{ device: 'bot', action: 'move', params: {} }], reply: 'moving' },
        }),
      },
      executor: {
        execute: async (plan) => {
          moving = new Promise<void>((r) => {
            release = r;
          });
          await moving;
          return plan.actions.map((a) => ({ ...a, status: 'ok' as const }));
        },
        safeStop: async () => release?.(),
      },
    };
  };
  const log = createLogger(config.log);
  const agent = await Agent.start({ config, log, pipeline: factory });
  const fleet = await startFleet({
    agent,
    fileConfig: config,
    log,
    stateDir,
    // The model's own self-test: sentences from its manifest, parsed by a loader of that directory.
    loadParser: async (dir) => ({
      parse: async (text) => parse(text, text.includes('light') ? 'light.set' : 'robot.move'),
      close: async () => {
        void dir;
      },
    }),
  });
  const reports: ConfigReport[] = fleet.lastReport ? [fleet.lastReport] : [];
  fleet.on('report', (r: ConfigReport) => reports.push(r));
  return {
    prefix,
    stateDir,
    config,
    agent,
    fleet,
    builds,
    reports,
    release: () => release?.(),
    startMotion: () => agent.command({ text: 'drive forward' }),
    waitReport: (match: (r: ConfigReport) => boolean) => waitFor(fleet, 'report', match, reports),
    publish: (target: LayerId, version: number, cfg: Record<string, unknown>) =>
      operator.publishAsync(
        configTopicFor(prefix, target),
        JSON.stringify({ target, version, config: cfg }),
        {
          qos: 1,
          retain: true,
        },
      ),
    stop: async () => {
      await fleet.stop();
      await agent.stop('test');
    },
  };
}

function waitFor<T>(
  client: FleetClient,
  event: string,
  match: (r: T) => boolean,
  seen: T[] = [],
): Promise<T> {
  const found = seen.find(match);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching ${event}`)), 15_000);
    const listener = (r: T) => {
      if (!match(r)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(r);
    };
    client.on(event, listener);
  });
}

describe('fleet client wired into the agent', () => {
  it('applies a fleet change live through Agent.applyConfig and marks identity changes restart_required', async () => {
    const linked = await startLinkedAgent();
    try {
      await linked.waitReport((r) => r.status === 'applied');
      const buildsBefore = linked.builds.length;
      await linked.publish('fleet', 1, { nlu: { threads: 2 }, device: { id: 'renamed' } });
      const report = await linked.waitReport((r) => r.versions.fleet === 1);
      assert.equal(report.status, 'applied');
      assert.deepEqual(report.restartRequired, ['device.id']);
      assert.equal(linked.agent.currentConfig.nlu.threads, 2, 'applied live');
      assert.equal(linked.builds.length, buildsBefore + 1, 'the pipeline was rebuilt once');
      assert.equal(
        linked.agent.currentConfig.device.id,
        linked.config.device.id,
        'the id waits for a restart',
      );
      // After a reboot the agent starts with what the fleet gave it.
      assert.equal(fleetBootConfig(linked.config, linked.stateDir).config.nlu.threads, 2);
      await linked.publish('fleet', 2, { nlu: { threads: 2 } });
      const reverted = await linked.waitReport((r) => r.versions.fleet === 2);
      assert.deepEqual(
        reverted.restartRequired,
        [],
        'the id change was withdrawn: no restart needed any more',
      );
    } finally {
      await linked.stop();
    }
  });

  it('reports rolled_back and keeps the running pipeline when the agent cannot build the new one', async () => {
    const linked = await startLinkedAgent({ failBuildWhen: (c) => c.nlu.threads === 3 });
    try {
      await linked.waitReport((r) => r.status === 'applied');
      await linked.publish('fleet', 1, { nlu: { threads: 3 } });
      const report = await linked.waitReport((r) => r.status === 'rolled_back');
      assert.match(report.error!, /driver "arm" failed to open/);
      assert.equal(linked.agent.currentConfig.nlu.threads, 1);
    } finally {
      await linked.stop();
    }
  });

  it('waits for the running motion to finish before applying, then applies', async () => {
    const linked = await startLinkedAgent();
    try {
      await linked.waitReport((r) => r.status === 'applied');
      const command = linked.startMotion();
      await linked.publish('fleet', 1, { nlu: { threads: 2 } });
      await linked.waitReport((r) => r.status === 'pending');
      assert.equal(linked.agent.currentConfig.nlu.threads, 1, 'nothing applied while moving');
      linked.release();
      assert.equal((await command).status, 'ok', 'the motion was not interrupted by the config change');
      await linked.waitReport((r) => r.versions.fleet === 1 && r.status === 'applied');
      assert.equal(linked.agent.currentConfig.nlu.threads, 2);
    } finally {
      await linked.stop();
    }
  });

  it('self-tests a delivered model and swaps it in as nlu.model; a failing one is refused', async () => {
    const linked = await startLinkedAgent();
    try {
      await linked.waitReport((r) => r.status === 'applied');
      const dir = mkdtempSync(join(tmpdir(), 'sling-link-model-'));
      mkdirSync(join(dir, 'onnx'));
      writeFileSync(join(dir, 'onnx', 'model.onnx'), Buffer.alloc(4096, 1));
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify({ selfTest: [{ text: 'turn on the light', intent: 'light.set' }] }),
      );
      await publishModel({ mqtt: operator, prefix: linked.prefix, dir, target: 'fleet', version: 1 });
      const applied = await waitFor<ModelReport>(linked.fleet, 'model-report', (r) => r.status === 'applied');
      const installed = linked.fleet.model!.installed!;
      assert.equal(installed.sha256, applied.sha256);
      assert.equal(linked.agent.currentConfig.nlu.model, installed.dir);
      assert.equal(
        linked.builds.at(-1)!.nlu.model,
        installed.dir,
        'the pipeline was rebuilt with the new model',
      );

      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify({ selfTest: [{ text: 'drive forward', intent: 'light.set' }] }),
      );
      await publishModel({ mqtt: operator, prefix: linked.prefix, dir, target: 'fleet', version: 2 });
      const refused = await waitFor<ModelReport>(
        linked.fleet,
        'model-report',
        (r) => r.status === 'rejected',
      );
      assert.match(
        refused.error!,
        /self-test failed: "drive forward" parsed as robot\.move, expected light\.set/,
      );
      assert.equal(linked.agent.currentConfig.nlu.model, installed.dir, 'the old model stays');
      // A later config change keeps the delivered model.
      await linked.publish('fleet', 1, { nlu: { threads: 2 } });
      await linked.waitReport((r) => r.versions.fleet === 1);
      assert.equal(linked.agent.currentConfig.nlu.model, installed.dir);
    } finally {
      await linked.stop();
    }
  });
});
