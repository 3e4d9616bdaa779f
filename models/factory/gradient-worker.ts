/**
 * A gradient worker thread: waits (Atomics) for a batch, computes the gradients of its shards into shared
 * buffers, signals done. Parameters and gradient buffers are SharedArrayBuffers owned by the training thread,
 * which only updates them while every worker is idle.
 */
import { workerData } from 'node:worker_threads';
import { Slot, type WorkerInit } from './gradient-workers.ts';
import { type CrfCache, crfCache, type Params } from './model.ts';
import { type ShardSentence, type ShardSettings, shardGradients, shardRange } from './shards.ts';

const init = workerData as WorkerInit;
const view = (buffers: Record<string, SharedArrayBuffer>): Params =>
  Object.fromEntries(Object.entries(init.params).map(([name]) => [name, new Float32Array(buffers[name]!)]));
const params = view(init.params);
const grads = init.grads.map(view);
const control = new Int32Array(init.control);
const batch = new Int32Array(init.batch);
const loss = new Float64Array(init.loss);
const touchedOut = init.touched.map((b) => new Int32Array(b));
const settings: ShardSettings = init.settings;
const data: ShardSentence[] = init.data;
const allowed = new Uint8Array(init.allowed);
const allowedStart = new Uint8Array(init.allowedStart);

let seen = 0;
try {
  for (;;) {
    Atomics.wait(control, Slot.job, seen);
    seen = Atomics.load(control, Slot.job);
    if (control[Slot.exit] === 1) break;
    const n = control[Slot.batchSize]!;
    const step = control[Slot.step]!;
    const cache: CrfCache = crfCache(params, allowed, allowedStart, settings.config.tags);
    for (let s = init.index; s < init.shards; s += init.threads) {
      const touched = new Set<number>();
      loss[s] = shardGradients(
        settings,
        params,
        data,
        batch,
        shardRange(n, init.shards, s),
        step,
        cache,
        grads[s]!,
        touched,
      );
      const out = touchedOut[s]!;
      out[0] = touched.size;
      let i = 1;
      for (const row of touched) out[i++] = row;
    }
    Atomics.store(control, Slot.done, seen);
    Atomics.notify(control, Slot.done);
  }
} catch (error) {
  init.errors.postMessage(String((error as Error)?.stack ?? error));
  Atomics.store(control, Slot.failed, 1);
  Atomics.store(control, Slot.done, -1);
  Atomics.notify(control, Slot.done);
}
