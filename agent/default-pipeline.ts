import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { type Actuation, startActuation } from './act/setup.ts';
import type { PipelineDeps, PipelineFactory } from './agent.ts';
import type { SlingConfig } from './config/schema.ts';
import { decide } from './decide/decide.ts';
import { loadSkills } from './decide/load-skills.ts';
import { outOfScopeIntents, scopeParser } from './decide/scope.ts';
import type { Plan } from './decide/types.ts';
import { loadParser, ModelLoadError } from './nlu/index.ts';
import type { ParseResult, Parser } from './nlu/types.ts';
import { fromProjectRoot } from './paths.ts';
import type { ActionReport, ExecuteOptions, Executor, Pipeline } from './pipeline.ts';

/** A parser that cannot parse: every command gets the same clear error instead of the agent crashing. */
export class UnavailableParser implements Parser {
  constructor(readonly reason: string) {}

  async release(): Promise<void> {}

  async parse(text: string): Promise<ParseResult> {
    return {
      text,
      intent: null,
      topIntent: null,
      confidence: 0,
      slots: [],
      alternatives: [],
      error: this.reason,
      timing: { totalMs: 0 },
    };
  }
}

/** The act stage (safety + drivers) as the agent's Executor; safety and driver events become agent events. */
export class ActuationExecutor extends EventEmitter implements Executor {
  constructor(readonly actuation: Actuation) {
    super();
    const { safety, drivers } = actuation;
    safety.on('estop', (status: Record<string, unknown>) =>
      this.emit('event', { type: 'safety', kind: 'estop', ...status }),
    );
    safety.on('reset', (source: string) =>
      this.emit('event', { type: 'safety', kind: 'estop_reset', source }),
    );
    safety.on('halt', (reason: string) => this.emit('event', { type: 'safety', kind: 'halt', reason }));
    drivers.on('event', (event: Record<string, unknown>) =>
      this.emit('event', { ...event, type: 'device', event: event.type }),
    );
  }

  execute(plan: Plan, options: ExecuteOptions): Promise<ActionReport[]> {
    return this.actuation.executor.execute(plan, {
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async safeStop(): Promise<void> {
    await this.actuation.drivers.safeStopAll().catch(() => {});
  }

  brokerLost(): void {
    this.actuation.safety.onBrokerLost();
  }

  brokerRestored(): void {
    this.actuation.safety.onBrokerRestored();
  }

  queueDepths(): Record<string, number> {
    return this.actuation.executor.queueDepths();
  }
}

/**
 * The model named by `nlu.model`. A missing or damaged model gives a parser that answers every command with
 * the reason, so the agent still starts, reports and can be fixed remotely (fleet model delivery).
 */
export type ReleasableParser = Parser & { release?(): Promise<void> };

async function loadModel(config: SlingConfig): Promise<ReleasableParser> {
  const modelDir = fromProjectRoot(config.nlu.model);
  if (!existsSync(modelDir)) {
    return new UnavailableParser(
      `no NLU model at ${modelDir} (train one with "npx sling train", or set nlu.model)`,
    );
  }
  try {
    return await loadParser(modelDir, {
      threads: config.nlu.threads,
      maxChars: config.nlu.maxInputChars,
    });
  } catch (error) {
    if (!(error instanceof ModelLoadError)) throw error;
    return new UnavailableParser(`the NLU model at ${modelDir} cannot be used: ${error.message}`);
  }
}

/**
 * The stages around a given parser: decide (skills and world from config) and act (safety, drivers).
 * Benchmarks and tests use it with a stand-in parser; `createPipeline` with the configured model.
 */
export async function buildPipeline(
  config: SlingConfig,
  { state, mqtt, log }: PipelineDeps,
  parser: ReleasableParser,
): Promise<Pipeline & { executor: ActuationExecutor }> {
  const skills = loadSkills(fromProjectRoot(config.world.skills));
  let actuation: Actuation;
  try {
    actuation = await startActuation(config, { state, mqtt, log });
  } catch (error) {
    await parser.release?.();
    throw error;
  }
  const ctx = { world: config.world, skills, state };
  const scoped = scopeParser(parser, outOfScopeIntents(skills));
  return {
    parser: scoped,
    decider: { decide: (text) => decide(parser, text, ctx) },
    executor: new ActuationExecutor(actuation),
    reconfigureDrivers: (next, previous) => actuation.reconfigureDrivers(next, previous),
    close: async () => {
      await actuation.close();
      await parser.release?.();
    },
  };
}

/** The product pipeline of `sling start`: the configured model, the skills and world, safety and drivers. */
export const createPipeline: PipelineFactory = async (config, deps) => {
  const parser: ReleasableParser = await loadModel(config);
  if (parser instanceof UnavailableParser) deps.log.error(`commands cannot be understood: ${parser.reason}`);
  return buildPipeline(config, deps, parser);
};
