import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { type Actuation, startActuation } from './act/setup.ts';
import type { PipelineFactory } from './agent.ts';
import { decide } from './decide/decide.ts';
import { loadSkills } from './decide/load-skills.ts';
import type { Plan } from './decide/types.ts';
import type { ParseResult, Parser } from './nlu/types.ts';
import { fromProjectRoot } from './paths.ts';
import type { ActionReport, ExecuteOptions, Executor } from './pipeline.ts';

/** A parser that cannot parse: every command gets the same clear error instead of the agent crashing. */
export class UnavailableParser implements Parser {
  constructor(readonly reason: string) {}

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
    const depths: Record<string, number> = {};
    for (const device of this.actuation.drivers.devices)
      depths[device] = this.actuation.executor.busy(device) ? 1 : 0;
    return depths;
  }
}

/** The model named by `nlu.model`; a missing model gives a parser that explains, so the agent still runs. */
async function loadModel(modelDir: string): Promise<Parser> {
  if (!existsSync(modelDir)) {
    return new UnavailableParser(
      `no NLU model at ${modelDir} (train one with "npx sling train", or set nlu.model)`,
    );
  }
  return new UnavailableParser(`the NLU engine is not part of this build (model at ${modelDir} not loaded)`);
}

/** The product pipeline of `sling start`: the configured model, the skills and world, safety and drivers. */
export const createPipeline: PipelineFactory = async (config, { state, mqtt, log }) => {
  const modelDir = fromProjectRoot(config.nlu.model);
  const parser = await loadModel(modelDir);
  if (parser instanceof UnavailableParser)
    log.error({ model: modelDir }, `commands cannot be understood: ${parser.reason}`);
  const skills = loadSkills(fromProjectRoot(config.world.skills));
  const actuation = await startActuation(config, { state, mqtt, log });
  const ctx = { world: config.world, skills, state };
  return {
    parser,
    decider: { decide: (text) => decide(parser, text, ctx) },
    executor: new ActuationExecutor(actuation),
    close: () => actuation.close(),
  };
};
