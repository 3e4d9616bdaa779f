import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Agent, type PipelineFactory } from '../../agent/agent.ts';
import { resolveConfig } from '../../agent/config/load.ts';
import type { SlingConfig, SlingConfigInput } from '../../agent/config/schema.ts';
import { createLogger } from '../../agent/log.ts';
import type { Pipeline } from '../../agent/pipeline.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';

let seq = 0;
/** Kept voice commands (voice.adaptation) of this test process, removed when it exits. */
const heardRoot = join(tmpdir(), `sling-test-heard-${process.pid}`);
process.on('exit', () => rmSync(heardRoot, { recursive: true, force: true }));

/** A config for tests: unique device id, given broker, no console, quiet logs. */
export function testConfig(overrides: SlingConfigInput = {}): SlingConfig {
  seq++;
  const base: SlingConfigInput = {
    device: { id: `t${process.pid}-${seq}` },
    log: { level: (process.env.SLING_TEST_LOG as 'info' | undefined) ?? 'silent', pretty: 'never' },
    ...overrides,
    agent: { console: 'off', healthIntervalS: 0, ...overrides.agent },
    // Never the project's own .sling/: a test's heard commands must not adapt a developer's model.
    voice: {
      ...overrides.voice,
      adaptation: { dir: join(heardRoot, String(seq)), ...overrides.voice?.adaptation },
    },
  };
  return resolveConfig({ name: 'test', text: JSON.stringify(base) });
}

export async function startAgent(config: SlingConfig, pipeline: Pipeline | PipelineFactory): Promise<Agent> {
  return Agent.start({ config, log: createLogger(config.log), pipeline });
}

/** A test client that collects messages per topic and can wait for one that matches. */
export class Probe {
  readonly messages: { topic: string; payload: string; packet: mqtt.IPublishPacket }[] = [];
  private waiters: {
    test: (m: Probe['messages'][number]) => boolean;
    resolve: (m: Probe['messages'][number]) => void;
  }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const message = { topic, payload: payload.toString(), packet };
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(message)) return true;
        w.resolve(message);
        return false;
      });
    });
  }

  static async connect(url: string, options: IClientOptions = {}): Promise<Probe> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 200, ...options });
    (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    return new Probe(client);
  }

  async subscribe(...topics: string[]): Promise<void> {
    await this.client.subscribeAsync(topics, { qos: 1 });
  }

  /** Resolves with the first message (already received or future) that matches; rejects after timeoutMs. */
  waitFor(test: (m: Probe['messages'][number]) => boolean, what: string, timeoutMs = 10_000) {
    const found = this.messages.find(test);
    if (found) return Promise.resolve(found);
    return new Promise<Probe['messages'][number]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload) as T);
  }

  async result(topic: string, id: string, timeoutMs = 10_000) {
    const m = await this.waitFor(
      (x) => x.topic === topic && JSON.parse(x.payload).id === id,
      `result ${id}`,
      timeoutMs,
    );
    return JSON.parse(m.payload) as import('../../agent/report/result.ts').CommandResult;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export interface Rig {
  broker: Mosquitto;
  agent: Agent;
  probe: Probe;
  close(): Promise<void>;
}

/** A private mosquitto, an agent on it (config overrides + the given pipeline) and a probe client. */
export async function startRig(
  overrides: SlingConfigInput,
  pipeline: Pipeline | PipelineFactory,
  subscribe: (agent: Agent) => string[] = (agent) => [`${agent.topics.base}/#`],
): Promise<Rig> {
  const broker = await startMosquitto();
  const agent = await startAgent(
    testConfig({ ...overrides, mqtt: { ...overrides.mqtt, url: broker.url } }),
    pipeline,
  );
  const probe = await Probe.connect(broker.url);
  await probe.subscribe(...subscribe(agent));
  return {
    broker,
    agent,
    probe,
    async close() {
      await probe.close();
      await agent.stop();
      await broker.stop();
    },
  };
}
