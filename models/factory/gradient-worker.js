// Worker threads do not inherit the tsx loader that `sling` registers in the main thread: register it, then
// load the TypeScript worker. A failure to load is reported to the training thread, which waits on Atomics.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

try {
  register();
  await import('./gradient-worker.ts');
} catch (error) {
  workerData.errors.postMessage(String(error?.stack ?? error));
  const control = new Int32Array(workerData.control);
  Atomics.store(control, 3, 1);
  Atomics.store(control, 1, -1);
  Atomics.notify(control, 1);
}
