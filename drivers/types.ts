import type { EventEmitter } from 'node:events';
import type { Action } from '../agent/decide/types.ts';
import type { StateSink } from '../agent/state/types.ts';

export interface ActionOutcome {
  status: 'ok' | 'rejected' | 'error' | 'cancelled';
  error?: string;
  /** What the device reported back (final pose, applied brightness...). */
  result?: Record<string, unknown>;
}

export interface DriverHealth {
  ok: boolean;
  detail?: string;
}

/**
 * Every driver kind (virtual, serial, gpio, firmata, mqtt) implements this. A driver owns one or more
 * named devices; it never applies limits itself — the safety layer has done that before `execute`.
 * Events: 'event' ({type, device, ...}) for telemetry, faults and hardware e-stop inputs.
 */
export interface Driver extends EventEmitter {
  readonly kind: string;
  readonly devices: readonly string[];
  open(state: StateSink): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the action has finished (motion included), or was cancelled/failed. */
  execute(action: Action, signal: AbortSignal): Promise<ActionOutcome>;
  /** Bring every actuator to a safe state now (motors off). Must be fast and must not throw. */
  safeStop(): Promise<void>;
  health(): DriverHealth;
}
