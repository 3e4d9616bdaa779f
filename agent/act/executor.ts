import { EventEmitter } from 'node:events';
import type { DriverEvent, DriverRegistry } from '../../drivers/registry.ts';
import type { ActionOutcome } from '../../drivers/types.ts';
import type { Action, Plan } from '../decide/types.ts';
import type { Logger } from '../log.ts';
import type { EstopStatus, Safety } from '../safety/safety.ts';
import type { StateStore } from '../state/store.ts';
import { DeviceQueue } from './queue.ts';
import type { ActionResult, ExecuteOptions } from './types.ts';

export interface ExecutorDeps {
  drivers: DriverRegistry;
  safety: Safety;
  state: StateStore;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Emits 'event' with {type, ...}: estop {source, reason}, estop_reset {source}, halt {reason}, and every
 * driver event (telemetry, fault, bump, deadman, input) with `driver` set. The agent forwards them.
 */
export interface Executor extends EventEmitter {
  /** Runs a plan step by step (each step waits for the previous one); never throws. */
  execute(plan: Plan, options?: ExecuteOptions): Promise<ActionResult[]>;
  /** Trips the e-stop latch: everything queued or running is cancelled and every driver made safe. */
  estop(source: string, reason?: string): void;
  /** Releases the latch; nothing restarts. False when it was not latched. */
  resetEstop(source: string): boolean;
  /** Cancels the device's running and queued actions, then asks its driver to stop. */
  stop(device: string, reason?: string): Promise<ActionResult>;
  busy(device: string): boolean;
  /** Stops all motion now (not latched): for the runtime's own emergencies. Never throws. */
  safeStop(reason: string): Promise<void>;
  /** Deadman inputs from the agent runtime's MQTT connection. */
  onBrokerLost(): void;
  onBrokerRestored(): void;
  /** Queued + running actions per busy device (health reports). */
  queueDepths(): Record<string, number>;
  /** Detaches from safety, drivers and state (does not close the drivers). */
  close(): Promise<void>;
}

const CONTROL = new Set(['estop', 'reset_estop', 'stop', 'cancel']);

/** Plans → safety → per-device queues → drivers. See agent/act/README.md. */
export function createExecutor({ drivers, safety, state, log }: ExecutorDeps): Executor {
  const events = new EventEmitter();
  const queues = new Map<string, DeviceQueue>();
  const queueOf = (device: string) => {
    let queue = queues.get(device);
    if (!queue) {
      queue = new DeviceQueue();
      queues.set(device, queue);
    }
    return queue;
  };
  const motionDevices = () => drivers.devices.filter((d) => safety.isMotion(d));

  const onEstop = (status: EstopStatus) => {
    log?.warn({ source: status.source, reason: status.reason }, 'EMERGENCY STOP');
    for (const queue of queues.values())
      queue.cancelAll(`emergency stop (${status.source}: ${status.reason})`);
    void drivers.safeStopAll();
    state.set('safety.estop', { latched: true, ...(safety.estopped ?? status) });
    for (const device of motionDevices()) state.set(`${device}.estopped`, true);
    events.emit('event', { type: 'estop', source: status.source, reason: status.reason });
  };
  const onReset = (source: string) => {
    log?.info({ source }, 'emergency stop reset');
    state.set('safety.estop', { latched: false, reset_by: source, at: Date.now() });
    for (const device of motionDevices()) state.set(`${device}.estopped`, false);
    events.emit('event', { type: 'estop_reset', source });
  };
  const onHalt = (reason: string) => {
    log?.warn({ reason }, 'motion halted');
    for (const device of motionDevices()) queues.get(device)?.cancelAll(reason);
    void drivers.safeStopAll((d) => d.devices.some((device) => safety.isMotion(device)));
    state.set('safety.last_halt', { reason, at: Date.now() });
    events.emit('event', { type: 'halt', reason });
  };
  const onDriverEvent = (event: DriverEvent) => {
    events.emit('event', event);
    const source = typeof event.source === 'string' ? event.source : `${event.driver}:${event.device ?? '?'}`;
    if (event.type === 'estop') {
      const reason = typeof event.reason === 'string' ? event.reason : 'hardware e-stop input';
      safety.estop(source, reason, event.held === true);
    } else if (event.type === 'estop_release') {
      safety.releaseEstop(source);
    }
  };
  safety.on('estop', onEstop);
  safety.on('reset', onReset);
  safety.on('halt', onHalt);
  drivers.on('event', onDriverEvent);

  const result = (
    action: Action,
    status: ActionResult['status'],
    extra: Partial<ActionResult> = {},
  ): ActionResult => ({
    device: action.device,
    action: action.action,
    params: action.params,
    status,
    ...extra,
  });

  /** Queues one (already limit-checked) action on its device and resolves when it has finished. */
  const enqueue = (action: Action, adjustments: string[], planSignal?: AbortSignal): Promise<ActionResult> =>
    new Promise((resolve) => {
      const controller = new AbortController();
      const onPlanAbort = () => controller.abort(String(planSignal?.reason ?? 'plan cancelled'));
      planSignal?.addEventListener('abort', onPlanAbort, { once: true });
      const extra = adjustments.length > 0 ? { adjustments } : {};
      queueOf(action.device).push({
        action,
        controller,
        run: async (signal) => {
          try {
            resolve(await runJob(action, signal, controller, extra));
          } finally {
            planSignal?.removeEventListener('abort', onPlanAbort);
          }
        },
      });
    });

  const runJob = async (
    action: Action,
    signal: AbortSignal,
    controller: AbortController,
    extra: Partial<ActionResult>,
  ): Promise<ActionResult> => {
    if (signal.aborted) return result(action, 'cancelled', { ...extra, error: String(signal.reason) });
    const verdict = safety.check(action, state);
    if (!verdict.ok) return result(action, 'refused', { ...extra, error: verdict.reason });
    const driver = drivers.driverFor(action.device);
    if (!driver) return result(action, 'refused', { ...extra, error: `unknown device ${action.device}` });
    const started = performance.now();
    let timedOut = false;
    const limitMs = safety.maxActionMs(action.device);
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(`time bound of ${limitMs / 1000} s exceeded`);
    }, limitMs);
    // Interlocks keep being checked while the action runs (e.g. an obstacle appears mid-move).
    const watched = new Set(safety.watchedKeys(verdict.action));
    const onChange = (key: string) => {
      if (!watched.has(key) || signal.aborted) return;
      const again = safety.check(verdict.action, state);
      if (!again.ok) controller.abort(again.reason);
    };
    if (watched.size > 0) state.on('change', onChange);
    let outcome: ActionOutcome;
    try {
      outcome = await driver.execute(verdict.action, signal);
    } catch (error) {
      outcome = { status: 'error', error: `driver ${driver.kind} threw: ${(error as Error).message}` };
    } finally {
      clearTimeout(timer);
      state.off('change', onChange);
    }
    const durationMs = Math.round(performance.now() - started);
    let status: ActionResult['status'] = outcome.status;
    let error = outcome.error;
    if (signal.aborted && status !== 'ok') {
      error = String(signal.reason);
      if (timedOut) status = 'error';
    }
    return result(verdict.action, status, {
      ...extra,
      ...(error ? { error } : {}),
      ...(outcome.result ? { result: outcome.result } : {}),
      durationMs,
    });
  };

  const stop = async (device: string, reason = 'stopped'): Promise<ActionResult> => {
    const action: Action = { device, action: 'stop', params: {} };
    const driver = drivers.driverFor(device);
    if (!driver) return result(action, 'refused', { error: `unknown device ${device}` });
    const cancelled = queues.get(device)?.cancelAll(reason) ?? 0;
    // The driver gets an explicit stop too (brakes, motors off); a device without one is done by cancelling.
    const outcome = await driver.execute(action, new AbortController().signal).catch((e: Error) => ({
      status: 'error' as const,
      error: e.message,
    }));
    if (outcome.status === 'error') return result(action, 'error', { error: outcome.error });
    return result(action, 'ok', {
      result: { cancelled, ...(outcome.status === 'ok' ? outcome.result : {}) },
    });
  };

  const runControl = async (action: Action): Promise<ActionResult> => {
    switch (action.action) {
      case 'estop':
        safety.estop(`command:${action.device}`, 'estop command');
        return result(action, 'ok');
      case 'reset_estop': {
        const blocked = safety.resetBlockedBy;
        if (blocked.length > 0) {
          return result(action, 'refused', {
            error: `cannot reset: e-stop still active (${blocked.join(', ')})`,
          });
        }
        return result(action, 'ok', {
          result: { was_latched: safety.resetEstop(`command:${action.device}`) },
        });
      }
      case 'cancel':
        return result(action, 'ok', {
          result: { cancelled: queues.get(action.device)?.cancelAll('cancelled') ?? 0 },
        });
      default:
        return stop(action.device);
    }
  };

  const execute = async (plan: Plan, options: ExecuteOptions = {}): Promise<ActionResult[]> => {
    if (plan.refused || plan.actions.length === 0) return [];
    // Static checks for the whole plan first: a refused later step means nothing moves at all.
    const prepared = plan.actions.map((action) => {
      const globalControl = action.action === 'estop' || action.action === 'reset_estop';
      if (!globalControl && !drivers.driverFor(action.device)) {
        return { action, refusal: `unknown device ${action.device}`, adjustments: [] as string[] };
      }
      const verdict = safety.checkStatic(action);
      return verdict.ok
        ? { action: verdict.action, adjustments: verdict.adjustments, refusal: undefined }
        : { action, refusal: verdict.reason, adjustments: [] as string[] };
    });
    const refusedAt = prepared.findIndex((p) => p.refusal);
    if (refusedAt >= 0) {
      const bad = prepared[refusedAt]!;
      return prepared.map((p, i) =>
        i === refusedAt
          ? result(p.action, 'refused', { error: bad.refusal })
          : result(p.action, 'skipped', { error: `not run: step ${refusedAt + 1} was refused` }),
      );
    }
    if (options.dryRun) {
      return prepared.map((p) => {
        const verdict = CONTROL.has(p.action.action) ? undefined : safety.check(p.action, state);
        if (verdict && !verdict.ok) return result(p.action, 'refused', { error: verdict.reason });
        return result(p.action, 'dry_run', p.adjustments.length > 0 ? { adjustments: p.adjustments } : {});
      });
    }
    const results: ActionResult[] = [];
    for (const [i, p] of prepared.entries()) {
      const previous = results.at(-1);
      if (previous && previous.status !== 'ok') {
        results.push(result(p.action, 'skipped', { error: `not run: step ${i} ended ${previous.status}` }));
        continue;
      }
      if (options.signal?.aborted) {
        results.push(
          result(p.action, 'cancelled', { error: String(options.signal.reason ?? 'plan cancelled') }),
        );
        continue;
      }
      results.push(
        CONTROL.has(p.action.action)
          ? await runControl(p.action)
          : await enqueue(p.action, p.adjustments, options.signal),
      );
    }
    return results;
  };

  return Object.assign(events, {
    execute: (plan: Plan, options?: ExecuteOptions) =>
      execute(plan, options).catch((error: Error) => {
        log?.error({ err: error, commandId: options?.commandId }, 'executor failed');
        return plan.actions.map((a) => result(a, 'error', { error: `executor failed: ${error.message}` }));
      }),
    estop: (source: string, reason?: string) => safety.estop(source, reason),
    resetEstop: (source: string) => safety.resetEstop(source),
    stop,
    busy: (device: string) => queues.get(device)?.busy ?? false,
    async safeStop(reason: string) {
      safety.haltMotion(reason);
      await drivers.safeStopAll();
    },
    onBrokerLost: () => safety.onBrokerLost(),
    onBrokerRestored: () => safety.onBrokerRestored(),
    queueDepths: () =>
      Object.fromEntries(
        [...queues].filter(([, q]) => q.length > 0).map(([device, q]) => [device, q.length]),
      ),
    async close() {
      safety.off('estop', onEstop);
      safety.off('reset', onReset);
      safety.off('halt', onHalt);
      drivers.off('event', onDriverEvent);
    },
  });
}
