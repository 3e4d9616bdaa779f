import type { DriverContext } from '../../drivers/kinds.ts';
import type { MqttLink } from '../../drivers/mqtt/link.ts';
import { createDrivers } from '../../drivers/registry.ts';
import type { SlingConfig } from '../config/schema.ts';
import { bindSafetyTopics } from '../safety/mqtt.ts';
import { Safety } from '../safety/safety.ts';
import { withWorldLimits } from '../safety/world-limits.ts';
import type { StateStore } from '../state/store.ts';
import { createExecutor, type Executor, type ExecutorDeps } from './executor.ts';

export interface Actuation {
  executor: Executor;
  safety: Safety;
  drivers: Awaited<ReturnType<typeof createDrivers>>;
  /** Stops everything safely, then closes the drivers. */
  close(): Promise<void>;
  /** Applies a changed `drivers:` section: only changed, added or removed instances are closed/opened. */
  reconfigureDrivers(next: SlingConfig['drivers'], previous: SlingConfig['drivers']): Promise<string[]>;
}

/**
 * The act stage in one call, for the agent runtime: drivers from config (opened), the safety layer with
 * its watchdogs running, and the executor wired to both.
 */
export async function startActuation(
  config: Pick<SlingConfig, 'drivers' | 'safety'> & Partial<Pick<SlingConfig, 'world' | 'mqtt' | 'device'>>,
  deps: {
    state: StateStore;
    mqtt?: MqttLink;
    /**
     * `<prefix>/<device-id>` (default: from `config.mqtt.prefix` and `config.device.id`): with `mqtt`,
     * `<base>/estop` and `<base>/estop/reset` are bound to the latch.
     */
    topicBase?: string;
    /** Named places for navigation (default: `config.world.places`). */
    places?: DriverContext['places'];
    log?: ExecutorDeps['log'];
  },
): Promise<Actuation> {
  // With the whole config, the world's places and the agent's topic base come from it.
  const places = deps.places ?? config.world?.places;
  const topicBase =
    deps.topicBase ??
    (config.mqtt && config.device ? `${config.mqtt.prefix}/${config.device.id}` : undefined);
  const shared = { ...(deps.mqtt ? { mqtt: deps.mqtt } : {}), ...(places ? { places } : {}) };
  const drivers = await createDrivers(config.drivers, shared);
  const safety = new Safety(config.world ? withWorldLimits(config.safety, config.world) : config.safety);
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
    await executor.close();
    throw error;
  }
  safety.startWatchdogs();
  let unbind: (() => Promise<void>) | undefined;
  if (deps.mqtt) {
    const estop = [...(topicBase ? [`${topicBase}/estop`] : []), ...config.safety.estopTopics];
    const reset = topicBase ? `${topicBase}/estop/reset` : undefined;
    unbind = await bindSafetyTopics(deps.mqtt, reset ? { estop, reset } : { estop }, executor);
  }
  return {
    executor,
    safety,
    drivers,
    reconfigureDrivers: (next, previous) => drivers.reconfigure(next, previous, shared, deps.state),
    async close() {
      await unbind?.();
      await drivers.safeStopAll();
      await executor.close();
      safety.close();
      await drivers.close();
    },
  };
}
