import type { Action } from '../decide/types.ts';

/** One queued or running action of a device. */
export interface Job {
  action: Action;
  controller: AbortController;
  run: (signal: AbortSignal) => Promise<void>;
}

/**
 * Runs a device's actions one at a time in arrival order. Cancelling aborts the running job and every
 * queued one; a queued job that was cancelled still runs its `run`, which sees an aborted signal and
 * reports itself cancelled without touching the driver.
 */
export class DeviceQueue {
  private readonly pending: Job[] = [];
  private running: Job | undefined;

  get busy(): boolean {
    return this.running !== undefined || this.pending.length > 0;
  }

  get length(): number {
    return this.pending.length + (this.running ? 1 : 0);
  }

  push(job: Job): void {
    this.pending.push(job);
    if (!this.running) void this.next();
  }

  /** Aborts everything queued and running; returns how many jobs were affected. */
  cancelAll(reason: string): number {
    const jobs = [...(this.running ? [this.running] : []), ...this.pending];
    for (const job of jobs) if (!job.controller.signal.aborted) job.controller.abort(reason);
    return jobs.length;
  }

  private async next(): Promise<void> {
    const job = this.pending.shift();
    this.running = job;
    if (!job) return;
    try {
      await job.run(job.controller.signal);
    } finally {
      this.running = undefined;
      void this.next();
    }
  }
}
