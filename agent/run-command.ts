import type { ParseResult } from './nlu/types.ts';
import type { Decision, Pipeline } from './pipeline.ts';
import { type CommandResult, statusOfActions } from './report/result.ts';
import type { StateView } from './state/types.ts';

export interface CommandRequest {
  id: string;
  text: string;
  dryRun: boolean;
}

const elapsed = (from: number) => Math.round((performance.now() - from) * 1000) / 1000;

/** The result's intent fields: the single clause's, or the first clause's plus every clause listed. */
function understanding(parses: readonly ParseResult[]) {
  const first = parses[0];
  const base = {
    intent: first?.intent ?? null,
    confidence: first?.confidence ?? 0,
    slots: first?.slots ?? [],
  };
  if (parses.length <= 1) return base;
  return {
    ...base,
    clauses: parses.map((p) => ({
      text: p.text,
      intent: p.intent,
      confidence: p.confidence,
      slots: p.slots,
    })),
  };
}

/** understand → decide → act for one command. Never throws: every failure becomes a result with a reason. */
export async function runCommand(
  request: CommandRequest,
  pipeline: Pipeline,
  state: StateView,
  signal?: AbortSignal,
  /** Called once understood and planned, before acting (events go out while a long motion runs). */
  onDecided?: (decision: Decision) => void,
): Promise<CommandResult> {
  const started = performance.now();
  const base = { id: request.id, text: request.text, ...(request.dryRun ? { dryRun: true } : {}) };
  const failed = (reason: string, parseMs: number): CommandResult => ({
    ...base,
    status: 'error',
    intent: null,
    confidence: 0,
    slots: [],
    actions: [],
    reply: reason,
    error: reason,
    timing: { parseMs, totalMs: elapsed(started) },
  });
  let decision: Awaited<ReturnType<Pipeline['decider']['decide']>>;
  try {
    decision = await pipeline.decider.decide(request.text, state);
    onDecided?.(decision);
  } catch (error) {
    return failed(`could not understand "${request.text}": ${(error as Error).message}`, elapsed(started));
  }
  const parseMs = elapsed(started);
  const { parses, plan } = decision;
  const finish = (partial: Pick<CommandResult, 'status' | 'actions' | 'reply'> & { error?: string }) => ({
    ...base,
    ...understanding(parses),
    ...partial,
    timing: { parseMs, totalMs: elapsed(started) },
  });
  const parseError = parses.find((p) => p.error !== undefined)?.error;
  if (parseError !== undefined)
    return finish({ status: 'error', actions: [], reply: parseError, error: parseError });
  if (parses.some((p) => p.intent === null)) {
    return finish({ status: 'not_understood', actions: [], reply: plan.reply });
  }
  if (plan.refused) {
    return finish({ status: 'rejected', actions: [], reply: plan.reply, error: plan.refused.reason });
  }
  try {
    const options = { commandId: request.id, dryRun: request.dryRun, ...(signal ? { signal } : {}) };
    const actions = await pipeline.executor.execute(plan, options);
    const status = statusOfActions(actions);
    const failure = actions.find((a) => a.error !== undefined)?.error;
    const reply = status === 'ok' || failure === undefined ? plan.reply : `${plan.reply} (${failure})`;
    return finish({ status, actions, reply, ...(status === 'ok' ? {} : { error: failure ?? status }) });
  } catch (error) {
    return failed(`could not carry out "${request.text}": ${(error as Error).message}`, parseMs);
  }
}
