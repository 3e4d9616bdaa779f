import { EventEmitter } from 'node:events';
import type { SlingConfig } from '../config/schema.ts';
import { type ConfigDiff, diffConfigs } from './diff.ts';

/**
 * Applies a validated config to the running agent. It receives the full new config and the diff (what to
 * reapply); it must either finish or throw. On throw the applier calls it again with the previous config and
 * the reverse diff to roll back.
 */
export type ApplyConfig = (
  next: SlingConfig,
  diff: ConfigDiff,
  previous: SlingConfig,
) => Promise<void> | void;

export interface ConfigApplierOptions {
  current: SlingConfig;
  apply: ApplyConfig;
  /** True while a motion action is executing; changes that are not motion-safe wait until it is false. */
  isBusy?: () => boolean;
  /** Subscribes to "no motion any more"; returns an unsubscribe function. Without it the applier polls. */
  onIdle?: (listener: () => void) => () => void;
  applyTimeoutMs?: number;
}

export type ApplyOutcome =
  | { status: 'applied'; config: SlingConfig; diff: ConfigDiff }
  | { status: 'rolled_back'; error: string; diff: ConfigDiff }
  /** A newer config arrived while this one was queued; the newer one is applied instead. */
  | { status: 'superseded' };

interface Queued {
  next: SlingConfig;
  motionSafe: boolean;
  resolve: (outcome: ApplyOutcome) => void;
}

/**
 * Serialises config changes: one apply at a time, atomic from the outside (applied whole or rolled back),
 * and never while a motion action executes unless the change is motion-safe. Events: `queued` (waiting for
 * idle), `rollback-failed` (the agent could not restore the previous config either).
 */
export class ConfigApplier extends EventEmitter {
  #current: SlingConfig;
  #queued: Queued | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopWaiting: (() => void) | undefined;

  constructor(private readonly options: ConfigApplierOptions) {
    super();
    this.#current = options.current;
  }

  get current(): SlingConfig {
    return this.#current;
  }

  get waiting(): boolean {
    return this.#queued !== undefined;
  }

  submit(next: SlingConfig, { motionSafe = false } = {}): Promise<ApplyOutcome> {
    return new Promise((resolve) => {
      this.#queued?.resolve({ status: 'superseded' });
      this.#queued = { next, motionSafe, resolve };
      this.#running = this.#running.then(() => this.#pump());
    });
  }

  /** Forgets a queued change (used on shutdown). */
  close(): void {
    this.#stopWaiting?.();
    this.#queued?.resolve({ status: 'superseded' });
    this.#queued = undefined;
  }

  async #pump(): Promise<void> {
    const item = this.#queued;
    if (!item) return;
    const diff = diffConfigs(this.#current, item.next);
    if (diff.changes.length > 0 && !(item.motionSafe || diff.motionSafe) && this.options.isBusy?.()) {
      this.#waitForIdle();
      this.emit('queued', diff);
      return;
    }
    this.#queued = undefined;
    item.resolve(await this.#applyNow(item.next, diff));
  }

  #waitForIdle(): void {
    if (this.#stopWaiting) return;
    const wake = () => {
      this.#stopWaiting?.();
      this.#stopWaiting = undefined;
      this.#running = this.#running.then(() => this.#pump());
    };
    if (this.options.onIdle) {
      this.#stopWaiting = this.options.onIdle(wake);
    } else {
      const timer = setInterval(() => {
        if (!this.options.isBusy?.()) wake();
      }, 100);
      this.#stopWaiting = () => clearInterval(timer);
    }
  }

  async #applyNow(next: SlingConfig, diff: ConfigDiff): Promise<ApplyOutcome> {
    if (diff.changes.length === 0) {
      this.#current = next;
      return { status: 'applied', config: next, diff };
    }
    const previous = this.#current;
    try {
      await this.#callApply(next, diff, previous);
      this.#current = next;
      return { status: 'applied', config: next, diff };
    } catch (error) {
      const reason = (error as Error).message ?? String(error);
      try {
        await this.#callApply(previous, diffConfigs(next, previous), next);
      } catch (rollbackError) {
        this.emit('rollback-failed', rollbackError);
        return {
          status: 'rolled_back',
          error: `apply failed: ${reason}; rollback also failed: ${(rollbackError as Error).message}`,
          diff,
        };
      }
      return { status: 'rolled_back', error: `apply failed: ${reason}`, diff };
    }
  }

  async #callApply(next: SlingConfig, diff: ConfigDiff, previous: SlingConfig): Promise<void> {
    const limit = this.options.applyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => this.options.apply(next, diff, previous)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${limit} ms`)), limit);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
