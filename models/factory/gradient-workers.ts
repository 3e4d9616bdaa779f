/**
 * Data-parallel gradients on worker threads. The training thread keeps the weights in SharedArrayBuffers; for
 * each batch it wakes the workers (Atomics), computes its own shards, waits for theirs and sums the shard
 * gradients in shard order. Atomics keep `trainModel` synchronous (no event loop needed while training).
 * Same shards whatever the thread count, so the result does not depend on it (see shards.ts).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { CrfCache, Params } from './model.ts';
import { type ShardSentence, type ShardSettings, shardGradients, shardRange } from './shards.ts';

/** Int32 slots of a worker's control block. */
export const Slot = { job: 0, done: 1, exit: 2, failed: 3, batchSize: 4, step: 5 } as const;

export interface WorkerInit {
  index: number;
  threads: number;
  shards: number;
  params: Record<string, SharedArrayBuffer>;
  grads: Record<string, SharedArrayBuffer>[];
  control: SharedArrayBuffer;
  batch: SharedArrayBuffer;
  loss: SharedArrayBuffer;
  touched: SharedArrayBuffer[];
  settings: ShardSettings;
  data: ShardSentence[];
  allowed: Uint8Array;
  allowedStart: Uint8Array;
  errors: MessagePort;
}

/** Default thread count: both cores of a 2-core board, never more than the shards. */
export function defaultWorkers(shards: number): number {
  return Math.max(1, Math.min(2, availableParallelism(), shards));
}

/** A copy of `params` in SharedArrayBuffers (what workers read). */
export function shareParams(params: Params): Params {
  return Object.fromEntries(
    Object.entries(params).map(([name, p]) => {
      const shared = new Float32Array(new SharedArrayBuffer(p.byteLength));
      shared.set(p);
      return [name, shared];
    }),
  );
}

function buffersOf(params: Params): Record<string, SharedArrayBuffer> {
  return Object.fromEntries(
    Object.entries(params).map(([name, p]) => {
      if (!(p.buffer instanceof SharedArrayBuffer)) throw new Error(`${name} is not in shared memory`);
      return [name, p.buffer];
    }),
  );
}

const workerTimeoutMs = 10 * 60 * 1000;
const adaptPeriod = 200;
const adaptTrial = 12;

export class ShardedGradients {
  /** Gradient buffer per shard; after `compute`, shard 0 holds the batch sum and the others are zero. */
  readonly grads: Params[];
  private readonly workers: {
    worker: Worker;
    control: Int32Array;
    errors: MessagePort;
  }[] = [];
  private readonly batch: Int32Array;
  private readonly loss: Float64Array;
  private readonly touched: Int32Array[];
  private job = 0;
  /** Milliseconds spent on own shards, waiting for workers, and summing (what limits the speed-up). */
  readonly timing = { ownMs: 0, waitMs: 0, sumMs: 0, parallelBatches: 0, batches: 0 };
  /** Batches so far, and per mode (0: this thread alone, 1: with the workers) the trial time and count. */
  private batches = 0;
  private trial = [
    { ms: 0, n: 0 },
    { ms: 0, n: 0 },
  ];
  private parallelNow = true;

  constructor(
    private readonly params: Params,
    private readonly settings: ShardSettings,
    private readonly data: ShardSentence[],
    private readonly shards: number,
    private readonly threads: number,
    allowed: Uint8Array,
    allowedStart: Uint8Array,
    maxBatch: number,
    /** Measure both modes now and then and use the faster (a busy machine may not give a second core). */
    private readonly adaptive = false,
  ) {
    const zeros = (shared: boolean) =>
      Object.fromEntries(
        Object.entries(params).map(([name, p]) => [
          name,
          shared ? new Float32Array(new SharedArrayBuffer(p.byteLength)) : new Float32Array(p.length),
        ]),
      );
    const parallel = threads > 1;
    this.grads = Array.from({ length: shards }, () => zeros(parallel));
    const sab = (bytes: number) => (parallel ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.batch = new Int32Array(sab(4 * maxBatch));
    this.loss = new Float64Array(sab(8 * shards));
    // a shard touches at most every bucket; [count, rows...]
    const rows = settings.config.buckets + 1;
    this.touched = Array.from({ length: shards }, () => new Int32Array(sab(4 * rows)));
    for (let index = 1; index < threads; index++) {
      const control = new Int32Array(new SharedArrayBuffer(4 * 8));
      const channel = new MessageChannel();
      const init: WorkerInit = {
        index,
        threads,
        shards,
        params: buffersOf(params),
        grads: this.grads.map(buffersOf),
        control: control.buffer as SharedArrayBuffer,
        batch: this.batch.buffer as SharedArrayBuffer,
        loss: this.loss.buffer as SharedArrayBuffer,
        touched: this.touched.map((t) => t.buffer as SharedArrayBuffer),
        settings,
        data,
        allowed,
        allowedStart,
        errors: channel.port2,
      };
      const worker = new Worker(new URL('./gradient-worker.js', import.meta.url), {
        workerData: init,
        transferList: [channel.port2],
      });
      worker.unref();
      this.workers.push({ worker, control, errors: channel.port1 });
    }
  }

  /** Gradients of `batch` at update `step`, summed into `grads[0]`. Returns the loss and touched rows. */
  compute(batch: readonly number[], step: number, cache: CrfCache): { loss: number; touched: number[] } {
    const parallel = this.workers.length > 0 && this.chooseParallel();
    const started = performance.now();
    const result = this.computeWith(parallel, batch, step, cache);
    const ms = performance.now() - started;
    const mode = this.trial[parallel ? 1 : 0]!;
    if (this.batches % adaptPeriod < 2 * adaptTrial) {
      mode.ms += ms;
      mode.n++;
    }
    this.batches++;
    this.timing.batches++;
    if (parallel) this.timing.parallelBatches++;
    return result;
  }

  /**
   * Every adaptPeriod batches: adaptTrial batches alone, adaptTrial with the workers, then the rest of the
   * period in the faster mode. The model does not depend on the choice (same shards, same order).
   */
  private chooseParallel(): boolean {
    if (!this.adaptive) return true;
    const phase = this.batches % adaptPeriod;
    if (phase === 0)
      this.trial = [
        { ms: 0, n: 0 },
        { ms: 0, n: 0 },
      ];
    if (phase < adaptTrial) return false;
    if (phase < 2 * adaptTrial) return true;
    if (phase === 2 * adaptTrial) {
      const [alone, together] = this.trial as [{ ms: number; n: number }, { ms: number; n: number }];
      this.parallelNow = together.ms / together.n < alone.ms / alone.n;
    }
    return this.parallelNow;
  }

  private computeWith(
    parallel: boolean,
    batch: readonly number[],
    step: number,
    cache: CrfCache,
  ): { loss: number; touched: number[] } {
    const n = batch.length;
    this.batch.set(batch);
    const workers = parallel ? this.workers : [];
    const threads = parallel ? this.threads : 1;
    if (parallel) this.job++;
    for (const { control } of workers) {
      control[Slot.batchSize] = n;
      control[Slot.step] = step;
      Atomics.store(control, Slot.job, this.job);
      Atomics.notify(control, Slot.job);
    }
    const t0 = performance.now();
    const own: Set<number>[] = [];
    for (let s = 0; s < this.shards; s += threads) {
      const touched = new Set<number>();
      this.loss[s] = shardGradients(
        this.settings,
        this.params,
        this.data,
        this.batch,
        shardRange(n, this.shards, s),
        step,
        cache,
        this.grads[s]!,
        touched,
      );
      own[s] = touched;
    }
    const t1 = performance.now();
    for (let i = 0; i < workers.length; i++) this.await(workers[i]!, i + 1);
    const t2 = performance.now();
    // sum in shard order; rows in first-touch order, shard by shard
    let loss = 0;
    const union = new Set<number>();
    const g0 = this.grads[0]!;
    for (let s = 0; s < this.shards; s++) {
      loss += this.loss[s]!;
      const rows = own[s] ? [...own[s]!] : Array.from(this.touched[s]!.subarray(1, 1 + this.touched[s]![0]!));
      for (const r of rows) union.add(r);
      if (s === 0) continue;
      const gs = this.grads[s]!;
      for (const name of Object.keys(g0)) {
        const a = g0[name]!;
        const b = gs[name]!;
        if (name === 'emb') {
          const D = this.settings.config.dim;
          for (const r of rows) {
            for (let i = r * D; i < (r + 1) * D; i++) {
              a[i]! += b[i]!;
              b[i] = 0;
            }
          }
        } else {
          for (let i = 0; i < a.length; i++) {
            a[i]! += b[i]!;
            b[i] = 0;
          }
        }
      }
    }
    this.timing.ownMs += t1 - t0;
    this.timing.waitMs += t2 - t1;
    this.timing.sumMs += performance.now() - t2;
    return { loss, touched: [...union] };
  }

  private await(w: { control: Int32Array; errors: MessagePort }, index: number): void {
    const started = Date.now();
    for (;;) {
      const done = Atomics.load(w.control, Slot.done);
      if (w.control[Slot.failed] === 1) {
        const message = receiveMessageOnPort(w.errors)?.message;
        throw new Error(`gradient worker ${index} failed: ${message ?? 'no message'}`);
      }
      if (done === this.job) return;
      Atomics.wait(w.control, Slot.done, done, 1000);
      if (Date.now() - started > workerTimeoutMs) throw new Error(`gradient worker ${index} did not answer`);
    }
  }

  close(): void {
    for (const { worker, control, errors } of this.workers) {
      Atomics.store(control, Slot.exit, 1);
      Atomics.add(control, Slot.job, 1);
      Atomics.notify(control, Slot.job);
      errors.close();
      worker.unref();
    }
  }
}
