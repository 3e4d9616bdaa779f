import type { MqttLink } from '../../drivers/mqtt/link.ts';
import { createDrivers } from '../../drivers/registry.ts';
import type { SlingConfig } from '../config/schema.ts';
import { Safety } from '../safety/safety.ts';
import type { StateStore } from '../state/store.ts';
import { createExecutor, type Executor, type ExecutorDeps } from './executor.ts';

export interface Actuation {
  executor: Executor;
  safety: Safety;
  drivers: Awaited<ReturnType<typeof createDrivers>>;
  /** Stops everything safely, then closes the drivers. */
  close(): Promise<void>;
}

/**
 * The act stage in one call, for the agent runtime: drivers from config (opened), the safety layer with
 * its watchdogs running, and the executor wired to both.
 */
export async function startActuation(
  config: Pick<SlingConfig, 'drivers' | 'safety'>,
  deps: { state: StateStore; mqtt?: MqttLink; log?: ExecutorDeps['log'] },
): Promise<Actuation> {
  const drivers = await createDrivers(config.drivers, deps.mqtt ? { mqtt: deps.mqtt } : {});
  const safety = new Safety(config.safety);
  const executor = createExecutor({
    drivers,
    safety,
    state: deps.state,
    ...(deps.log ? { log: deps.log } : {}),
  });
  // Opened after the executor listens: an e-stop input already pressed at start-up must trip the latch.
  try {
    await drivers.open(deps.state);
  } catch (error) {
    executor.close();
    throw error;
  }
  safety.startWatchdogs();
  return {
    executor,
    safety,
    drivers,
    async close() {
      await drivers.safeStopAll();
      executor.close();
      safety.close();
      await drivers.close();
    },
  };
}
