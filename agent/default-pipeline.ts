import { existsSync } from 'node:fs';
import type { PipelineFactory } from './agent.ts';
import type { Plan } from './decide/types.ts';
import type { ParseResult, Parser } from './nlu/types.ts';
import { fromProjectRoot } from './paths.ts';
import type { ActionReport, Executor, Planner } from './pipeline.ts';

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

/** Until skills are configured nothing is planned; the reply says so. */
export class NoSkillsPlanner implements Planner {
  plan(): Plan {
    return { actions: [], reply: 'No skills are configured.', refused: { reason: 'no skills configured' } };
  }
}

/** No drivers: every action is rejected with a reason; nothing can move. */
export class NoDevicesExecutor implements Executor {
  async execute(plan: Plan): Promise<ActionReport[]> {
    return plan.actions.map((a) => ({ ...a, status: 'rejected', error: `no driver for device ${a.device}` }));
  }

  async safeStop(): Promise<void> {}
}

/** The product pipeline of `sling start`: the configured model, skills and drivers. */
export const createPipeline: PipelineFactory = async (config, _state, log) => {
  const modelDir = fromProjectRoot(config.nlu.model);
  const reason = existsSync(modelDir)
    ? 'the NLU engine is not part of this build'
    : `no NLU model at ${modelDir} (train one with "npx sling train", or set nlu.model)`;
  log.error({ model: modelDir }, `commands cannot be understood: ${reason}`);
  return {
    parser: new UnavailableParser(reason),
    planner: new NoSkillsPlanner(),
    executor: new NoDevicesExecutor(),
  };
};
