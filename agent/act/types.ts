import type { Action } from '../decide/types.ts';

/**
 * ok        — done (motion finished)           refused  — safety said no (limits, interlock, latch, deadman)
 * rejected  — the driver said no (bad params)   error    — the driver failed (fault, bump, time bound)
 * cancelled — stopped before finishing (stop, e-stop, deadman, pre-emption)
 * skipped   — not run because an earlier step of the plan did not succeed
 * dry_run   — would run with these (limited) params; nothing was sent to a driver
 */
export type ActionStatus = 'ok' | 'refused' | 'rejected' | 'error' | 'cancelled' | 'skipped' | 'dry_run';

export interface ActionResult extends Action {
  status: ActionStatus;
  error?: string;
  /** Limits that changed a param ("distance_m 12 limited to 5"); `params` are the values actually used. */
  adjustments?: string[];
  /** What the driver reported (final pose, applied brightness...). */
  result?: Record<string, unknown>;
  durationMs?: number;
}

export interface ExecuteOptions {
  /** Check everything and report what would run, without driving anything. */
  dryRun?: boolean;
  /** Aborting cancels this plan's running step and skips the rest. */
  signal?: AbortSignal;
  /** Correlates log lines with the command (the agent runtime's command id). */
  commandId?: string;
}
