import type { EventEmitter } from 'node:events';
import type { ActionStatus as ActStatus } from './act/types.ts';
import type { SlingConfig } from './config/schema.ts';
import type { Decision } from './decide/decide.ts';
import type { Action, Plan } from './decide/types.ts';
import type { Parser } from './nlu/types.ts';
import type { StateView } from './state/types.ts';

// The seams of ingress → understand → decide → act, as the agent sees them. The agent depends only on
// these, so each stage can be swapped (model, skills and drivers in `sling start`; small ones in tests).

export type { Decision };

/** understand + decide: text → one parse per clause → a plan (or a refusal with a reason). Never acts. */
export interface Decider {
  decide(text: string, state: StateView): Promise<Decision>;
}

export type ActionStatus = ActStatus;

export interface ActionReport extends Action {
  status: ActionStatus;
  error?: string;
  adjustments?: string[];
  result?: Record<string, unknown>;
}

export interface ExecuteOptions {
  /** Correlates events and logs with the command. */
  commandId: string;
  /** Check everything (safety included) and report what would run, without driving anything. */
  dryRun?: boolean;
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
  /** The broker connection dropped / came back (the deadman stops motion on loss). */
  brokerLost?(): void;
  brokerRestored?(): void;
  /** Pending actions per device, for the health topic. */
  queueDepths?(): Record<string, number>;
}

export interface Pipeline {
  /** Direct access to the model, for Hermes NLU queries (parse only, no action). */
  parser: Parser;
  decider: Decider;
  executor: Executor;
  /** Releases what the stages hold (ONNX session, driver ports); safe-stops first. */
  close?(): Promise<void>;
  /** Applies a changed `drivers:` section in place, touching only the changed instances. */
  reconfigureDrivers?(next: SlingConfig['drivers'], previous: SlingConfig['drivers']): Promise<string[]>;
}
