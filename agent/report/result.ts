import type { SlotMatch } from '../nlu/types.ts';
import type { ActionReport } from '../pipeline.ts';

// The shape published on `.../command/result` (and MQTT 5 response topics). Pure.

export type CommandStatus = 'ok' | 'not_understood' | 'rejected' | 'error';

export interface CommandResult {
  id: string;
  text: string;
  status: CommandStatus;
  intent: string | null;
  confidence: number;
  slots: SlotMatch[];
  /** For compound commands ("X then Y"): each clause's understanding; the fields above are the first's. */
  clauses?: { text: string; intent: string | null; confidence: number; slots: SlotMatch[] }[];
  actions: ActionReport[];
  reply: string;
  dryRun?: boolean;
  error?: string;
  timing: { parseMs: number; totalMs: number };
}

/**
 * The overall status of executed actions: safety or driver refusal → rejected, failure or cancellation →
 * error, else ok (`skipped` steps only follow another step's failure; `dry_run` counts as ok).
 */
export function statusOfActions(actions: readonly ActionReport[]): CommandStatus {
  if (actions.some((a) => a.status === 'refused' || a.status === 'rejected')) return 'rejected';
  if (actions.some((a) => a.status === 'error' || a.status === 'cancelled')) return 'error';
  return 'ok';
}

/** A command refused before understanding (malformed, too large, not allowed, rate limited). */
export function refusedResult(id: string, text: string, reason: string): CommandResult {
  return {
    id,
    text,
    status: 'rejected',
    intent: null,
    confidence: 0,
    slots: [],
    actions: [],
    reply: `Refused: ${reason}`,
    error: reason,
    timing: { parseMs: 0, totalMs: 0 },
  };
}
