import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Action } from '../decide/types.ts';
import type { StateView } from '../state/types.ts';
import { applyLimits, checkInterlocks, deviceRule, type Verdict, watchedKeys } from './rules.ts';
import type { SafetyConfig } from './schema.ts';

export interface EstopStatus {
  source: string;
  reason: string;
  at: number;
}

/** Actions the executor handles itself; they are never limited and never refused by the latch. */
export const CONTROL_ACTIONS = new Set(['estop', 'reset_estop', 'stop', 'cancel']);

/**
 * The safety state machine: e-stop latch, deadman (broker, operator heartbeat, event-loop stall) and the
 * policy checks every action passes. It decides; the executor acts on its events:
 *  'estop' (EstopStatus) — cancel everything, make every driver safe;
 *  'reset' (source)      — the latch was released (nothing restarts);
 *  'halt'  (reason)      — stop motion devices now (deadman), not latched.
 */
export class Safety extends EventEmitter {
  private latch: EstopStatus | undefined;
  /** Sources that are still physically active (a pressed mushroom button): no reset until released. */
  private readonly held = new Set<string>();
  private brokerUp = true;
  private lastHeartbeat: number;
  private heartbeatAlive = true;
  private timers: NodeJS.Timeout[] = [];
  /** Longest event-loop stall seen (ms), for health reports. */
  maxStallMs = 0;

  constructor(
    readonly config: SafetyConfig,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.lastHeartbeat = now();
  }

  get estopped(): EstopStatus | undefined {
    return this.latch;
  }

  /**
   * Trips (or re-trips) the latch. Every call emits, so a second source still cancels what slipped in.
   * `held`: the source stays active until `releaseEstop(source)` (a hardware button), and blocks resets.
   */
  estop(source: string, reason = 'emergency stop', held = false): void {
    if (held) this.held.add(source);
    this.latch ??= { source, reason, at: this.now() };
    this.emit('estop', { source, reason, at: this.now() } satisfies EstopStatus);
  }

  /** A held source (e-stop button) was released; the latch stays until an explicit reset. */
  releaseEstop(source: string): void {
    this.held.delete(source);
  }

  /** Held sources that still block a reset (as a real e-stop circuit cannot be reset while pressed). */
  get resetBlockedBy(): string[] {
    return [...this.held];
  }

  /**
   * Releases the latch. Returns false when it was not latched or a held source is still active. Never
   * restarts anything.
   */
  resetEstop(source: string): boolean {
    if (!this.latch || this.held.size > 0) return false;
    this.latch = undefined;
    this.emit('reset', source);
    return true;
  }

  isMotion(device: string): boolean {
    return deviceRule(this.config, device)?.motion ?? false;
  }

  maxActionMs(device: string): number {
    return (deviceRule(this.config, device)?.maxActionS ?? 120) * 1000;
  }

  /** Limits only: what planning and dry runs can know without the live state. */
  checkStatic(action: Action): Verdict {
    if (CONTROL_ACTIONS.has(action.action)) return { ok: true, action, adjustments: [] };
    return applyLimits(action, this.config);
  }

  /** Everything, at the moment the action is about to run. */
  check(action: Action, state: StateView): Verdict {
    if (CONTROL_ACTIONS.has(action.action)) return { ok: true, action, adjustments: [] };
    if (this.latch) {
      return {
        ok: false,
        reason: `emergency stop is latched (${this.latch.source}: ${this.latch.reason}); reset it first`,
      };
    }
    if (this.isMotion(action.device)) {
      if (!this.brokerUp && this.config.deadman.requireBroker) {
        return { ok: false, reason: 'no motion while the MQTT broker is unreachable (deadman)' };
      }
      if (this.config.deadman.heartbeatMs > 0 && !this.heartbeatAlive) {
        return { ok: false, reason: 'no motion without the operator heartbeat (deadman)' };
      }
    }
    const limited = applyLimits(action, this.config);
    if (!limited.ok) return limited;
    const locked = checkInterlocks(limited.action, this.config.interlocks, state);
    if (locked) return { ok: false, reason: `${action.device} ${action.action} refused: ${locked}` };
    return limited;
  }

  /** State keys to watch while `action` runs; a violation then cancels it. */
  watchedKeys(action: Action): string[] {
    return watchedKeys(action, this.config.interlocks);
  }

  /** Stops motion now without latching (deadman-style); new motion is allowed right after. */
  haltMotion(reason: string): void {
    this.emit('halt', reason);
  }

  get brokerConnected(): boolean {
    return this.brokerUp;
  }

  /** The agent runtime calls this when its MQTT connection drops. */
  onBrokerLost(): void {
    if (!this.brokerUp) return;
    this.brokerUp = false;
    if (this.config.deadman.requireBroker) this.emit('halt', 'MQTT broker lost (deadman)');
  }

  onBrokerRestored(): void {
    this.brokerUp = true;
  }

  /** Operator deadman: call at least every `deadman.heartbeatMs` while motion should be allowed. */
  heartbeat(): void {
    this.lastHeartbeat = this.now();
    this.heartbeatAlive = true;
  }

  /**
   * Starts the event-loop stall detector and the heartbeat watch. A stall is only seen once the loop runs
   * again, so drivers also bound motion themselves (the virtual robot and the firmware have their own
   * deadman); this makes sure nothing resumes after one.
   */
  startWatchdogs(): void {
    if (this.timers.length > 0) return;
    const { stallMs, heartbeatMs } = this.config.deadman;
    const period = Math.max(5, Math.floor(stallMs / 5));
    let last = performance.now();
    const stall = setInterval(() => {
      const t = performance.now();
      const gap = t - last - period;
      last = t;
      if (gap > this.maxStallMs) this.maxStallMs = gap;
      if (gap > stallMs) this.emit('halt', `event loop stalled for ${Math.round(gap)} ms (deadman)`);
    }, period);
    stall.unref();
    this.timers.push(stall);
    if (heartbeatMs > 0) {
      const beat = setInterval(
        () => {
          if (this.heartbeatAlive && this.now() - this.lastHeartbeat > heartbeatMs) {
            this.heartbeatAlive = false;
            this.emit('halt', `operator heartbeat missing for over ${heartbeatMs} ms (deadman)`);
          }
        },
        Math.max(5, Math.floor(heartbeatMs / 4)),
      );
      beat.unref();
      this.timers.push(beat);
    }
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }
}
