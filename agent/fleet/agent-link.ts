import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent.ts';
import type { SlingConfig } from '../config/schema.ts';
import type { InboundMessage, MqttConnection } from '../ingress/connection.ts';
import type { Logger } from '../log.ts';
import type { Parser } from '../nlu/types.ts';
import { bootConfig, FleetClient } from './client.ts';
import type { ModelManifest } from './model/manifest.ts';
import type { FleetTransport } from './transport.ts';

// The seam between the fleet client and the running agent: the agent's MQTT connection carries the fleet
// topics, `Agent.applyConfig` applies a merged config (it rebuilds the pipeline for nlu/skills/drivers and
// throws before touching anything when the new pipeline cannot be built), the executor's activity decides
// when a change must wait, and a delivered model becomes `nlu.model` once it passed its self-test.

/** The agent's connection (reconnects, offline queue, resubscribes) as a fleet transport. */
export function agentTransport(connection: MqttConnection): FleetTransport {
  return {
    subscribe: (topics, qos = 1) => connection.subscribe(Object.fromEntries(topics.map((t) => [t, qos]))),
    unsubscribe: (topics) => connection.unsubscribe(topics),
    publish: (topic, payload, options) => connection.publish(topic, payload, options),
    listen: (listener) => {
      const onMessage = (message: InboundMessage) =>
        listener({
          topic: message.topic,
          payload: message.payload,
          ...(message.properties ? { properties: message.properties as never } : {}),
        });
      connection.on('message', onMessage);
      return () => connection.off('message', onMessage);
    },
  };
}

/** A command is running or queued: motion may be in progress, so only motion-safe changes apply now. */
export function agentBusy(agent: Agent): boolean {
  const health = agent.health() as { commands: { inFlight: number }; queues: Record<string, number> };
  return health.commands.inFlight > 0 || Object.values(health.queues).some((depth) => depth > 0);
}

/** Loads a parser for a model directory; the default is the NLU engine's `loadParser` when it is built in. */
export type ParserLoader = (
  dir: string,
  config: SlingConfig,
) => Promise<Parser & { close?(): Promise<void> }>;

const defaultParserLoader: ParserLoader = async (dir, config) => {
  // Imported on first use: onnxruntime is heavy and most agents never receive a model.
  const { loadParser } = await import('../nlu/index.ts');
  return loadParser(dir, { threads: config.nlu.threads });
};

interface SelfTestSentence {
  text: string;
  intent: string | null;
}

/**
 * The model's own self-test: `selfTest: [{text, intent}]` in its manifest.json (or a selftest.json beside
 * it). A model without any is only checked to load and to parse one sentence without error.
 */
export function selfTestSentences(dir: string): SelfTestSentence[] {
  for (const file of ['selftest.json', 'manifest.json']) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const body = JSON.parse(readFileSync(path, 'utf8')) as { selfTest?: unknown } | unknown[];
    const list = Array.isArray(body) ? body : (body as { selfTest?: unknown }).selfTest;
    if (Array.isArray(list)) {
      return list
        .filter((s): s is SelfTestSentence => typeof (s as SelfTestSentence)?.text === 'string')
        .map((s) => ({ text: s.text, intent: s.intent ?? null }));
    }
  }
  return [];
}

export async function runSelfTest(parser: Parser, sentences: SelfTestSentence[]): Promise<void> {
  const probes = sentences.length > 0 ? sentences : [{ text: 'hello', intent: undefined }];
  for (const { text, intent } of probes) {
    const result = await parser.parse(text);
    if (result.error) throw new Error(`"${text}": ${result.error}`);
    if (intent !== undefined && result.intent !== intent) {
      throw new Error(`"${text}" parsed as ${result.intent ?? 'nothing'}, expected ${intent ?? 'nothing'}`);
    }
  }
}

/** The config the agent runs: fleet settings are the fleet client's business, a delivered model wins. */
function forAgent(next: SlingConfig, agent: Agent, modelDir: string | undefined): SlingConfig {
  return {
    ...next,
    fleet: agent.currentConfig.fleet,
    ...(modelDir ? { nlu: { ...next.nlu, model: modelDir } } : {}),
  };
}

/**
 * The config `sling start` boots the agent with: the local file, the persisted last-known-good fleet layers
 * and the delivered model, so a device that reboots offline comes up as it was.
 */
export function fleetBootConfig(
  fileConfig: SlingConfig,
  stateDir?: string,
): { config: SlingConfig; error?: string } {
  if (!fileConfig.fleet.enabled) return { config: fileConfig };
  const boot = bootConfig(fileConfig, stateDir);
  const model = boot.state.model && existsSync(boot.state.model.dir) ? boot.state.model.dir : undefined;
  const config = model ? { ...boot.config, nlu: { ...boot.config.nlu, model } } : boot.config;
  return { config, ...(boot.error ? { error: boot.error } : {}) };
}

/** Resolves once no command is running or queued. */
function untilIdle(agent: Agent): Promise<void> {
  if (!agentBusy(agent)) return Promise.resolve();
  return new Promise((resolveIdle) => {
    const check = () => {
      if (agentBusy(agent)) return;
      agent.off('result', check);
      clearInterval(timer);
      resolveIdle();
    };
    agent.on('result', check);
    const timer = setInterval(check, 250);
  });
}

export interface FleetLinkOptions {
  agent: Agent;
  /** The local file's config (not the merged one): the lowest layer and the trust settings. */
  fileConfig: SlingConfig;
  log: Logger;
  loadParser?: ParserLoader;
  stateDir?: string;
}

/** Starts the fleet client on a running agent; returns it (call `stop()` before stopping the agent). */
export async function startFleet(options: FleetLinkOptions): Promise<FleetClient> {
  const { agent, log } = options;
  const loadParser = options.loadParser ?? defaultParserLoader;
  let client: FleetClient | undefined;
  const modelDir = () => client?.model?.installed?.dir;
  // Config changes and model swaps both rebuild the agent's pipeline: one at a time.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work, work);
    chain = run.catch(() => {});
    return run;
  };
  client = new FleetClient({
    transport: agentTransport(agent.connection),
    fileConfig: options.fileConfig,
    log,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    apply: (next) => serial(() => agent.applyConfig(forAgent(next, agent, modelDir()))).then(() => {}),
    isBusy: () => agentBusy(agent),
    onIdle: (listener) => {
      const check = () => {
        if (!agentBusy(agent)) listener();
      };
      // A finished command is the usual moment; the timer covers actions that end without a result event.
      agent.on('result', check);
      const timer = setInterval(check, 250);
      timer.unref();
      return () => {
        agent.off('result', check);
        clearInterval(timer);
      };
    },
    model: {
      loadAndSelfTest: async (dir: string, _manifest: ModelManifest) => {
        const parser = await loadParser(dir, agent.currentConfig);
        try {
          await runSelfTest(parser, selfTestSentences(dir));
        } finally {
          await parser.close?.().catch(() => {});
        }
        return dir;
      },
      // The agent rebuilds its pipeline with the new model and swaps it in whole; the old one serves until then.
      // Swapping rebuilds the pipeline, which stops motion: wait until no command runs.
      swap: async (_loaded, dir) => {
        await untilIdle(agent);
        await serial(() =>
          agent.applyConfig({ ...agent.currentConfig, nlu: { ...agent.currentConfig.nlu, model: dir } }),
        );
      },
    },
  });
  await client.start();
  return client;
}
