import type { EventEmitter } from 'node:events';
import type { Action, Plan } from './decide/types.ts';
import type { Parser } from './nlu/types.ts';
import type { StateView } from './state/types.ts';

// The seams of ingress → understand → decide → act. The agent depends only on these interfaces, so each
// stage can be swapped (real model, skills and drivers in `sling start`; small ones in tests).

export interface PlanOptions {
  dryRun: boolean;
}

/** decide: a parse plus the live state → an ordered plan (or a refusal with a reason). */
export interface Planner {
  plan(
    parse: import('./nlu/types.ts').ParseResult,
    state: StateView,
    options: PlanOptions,
  ): Promise<Plan> | Plan;
}

export type ActionStatus = 'ok' | 'rejected' | 'error' | 'cancelled' | 'planned';

export interface ActionReport extends Action {
  status: ActionStatus;
  error?: string;
  result?: Record<string, unknown>;
}

export interface ExecuteOptions {
  /** Correlates events and logs with the command. */
  commandId: string;
  signal?: AbortSignal;
}

/**
 * act: runs a plan through the safety layer and the drivers. May emit 'event' ({type, ...}) for safety
 * events and device telemetry; the agent forwards them to `.../events`.
 */
export interface Executor extends Partial<Pick<EventEmitter, 'on' | 'off'>> {
  execute(plan: Plan, options: ExecuteOptions): Promise<ActionReport[]>;
  /** Brings every actuator to a safe state (motion stopped). Must not throw. */
  safeStop(reason: string): Promise<void>;
  /** Pending actions per device, for the health topic. */
  queueDepths?(): Record<string, number>;
  close?(): Promise<void>;
}

export interface Pipeline {
  parser: Parser;
  planner: Planner;
  executor: Executor;
  /** Releases what the stages hold (ONNX session, driver ports). */
  close?(): Promise<void>;
}
