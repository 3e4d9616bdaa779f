import type { ParseResult } from './nlu/types.ts';
import type { Pipeline } from './pipeline.ts';
import { type CommandResult, fromParse, statusOfActions } from './report/result.ts';
import type { StateView } from './state/types.ts';

export interface CommandRequest {
  id: string;
  text: string;
  dryRun: boolean;
}

export interface CommandTrace {
  result: CommandResult;
  /** The parse, for Hermes replies and events (absent when the parser itself failed). */
  parse?: ParseResult;
}

const elapsed = (from: number) => Math.round((performance.now() - from) * 1000) / 1000;

/** understand → decide → act for one command. Never throws: every failure becomes a result with a reason. */
export async function runCommand(
  request: CommandRequest,
  pipeline: Pipeline,
  state: StateView,
  signal?: AbortSignal,
): Promise<CommandTrace> {
  const started = performance.now();
  let parse: ParseResult;
  try {
    parse = await pipeline.parser.parse(request.text);
  } catch (error) {
    const reason = `the parser failed: ${(error as Error).message}`;
    return {
      result: {
        id: request.id,
        text: request.text,
        status: 'error',
        intent: null,
        confidence: 0,
        slots: [],
        actions: [],
        reply: reason,
        error: reason,
        timing: { parseMs: elapsed(started), totalMs: elapsed(started) },
      },
    };
  }
  const parseMs = elapsed(started);
  const finish = (partial: Omit<CommandResult, 'timing'>): CommandTrace => ({
    parse,
    result: {
      ...partial,
      ...(request.dryRun ? { dryRun: true } : {}),
      timing: { parseMs, totalMs: elapsed(started) },
    },
  });
  if (parse.error !== undefined) {
    return finish({ ...fromParse(request.id, parse, 'error', parse.error), error: parse.error });
  }
  if (parse.intent === null) {
    return finish(
      fromParse(request.id, parse, 'not_understood', `Sorry, I did not understand "${request.text}".`),
    );
  }
  try {
    const plan = await pipeline.planner.plan(parse, state, { dryRun: request.dryRun });
    if (plan.refused) {
      return finish({ ...fromParse(request.id, parse, 'rejected', plan.reply), error: plan.refused.reason });
    }
    if (request.dryRun) {
      const actions = plan.actions.map((a) => ({ ...a, status: 'planned' as const }));
      return finish({ ...fromParse(request.id, parse, 'ok', plan.reply), actions });
    }
    const options = signal ? { commandId: request.id, signal } : { commandId: request.id };
    const actions = await pipeline.executor.execute(plan, options);
    const status = statusOfActions(actions);
    const failure = actions.find((a) => a.error !== undefined)?.error;
    const reply = status === 'ok' || failure === undefined ? plan.reply : `${plan.reply} (${failure})`;
    return finish({ ...fromParse(request.id, parse, status, reply), actions });
  } catch (error) {
    const reason = `could not carry out "${request.text}": ${(error as Error).message}`;
    return finish({ ...fromParse(request.id, parse, 'error', reason), error: reason });
  }
}
