import { EventEmitter } from 'node:events';
import type { StateSink } from '../agent/state/types.ts';
import { type DriverContext, driverFactories } from './kinds.ts';
import type { DriversConfig } from './schema.ts';
import type { Driver, DriverHealth } from './types.ts';

export interface DriverEvent {
  type: string;
  device?: string;
  /** Set by the registry: the driver instance that emitted it. */
  driver: string;
  [key: string]: unknown;
}

/**
 * The set of drivers built from config, with a device → driver index. Re-emits every driver's 'event'
 * as 'event' (DriverEvent) so the executor can listen in one place (e.g. hardware e-stop inputs).
 */
export class DriverRegistry extends EventEmitter {
  private byDevice = new Map<string, Driver>();
  private readonly forwarders = new Map<Driver, (event: Record<string, unknown>) => void>();
  private current: Map<string, Driver>;

  constructor(drivers: ReadonlyMap<string, Driver>) {
    super();
    this.current = new Map(drivers);
    this.byDevice = deviceIndex(this.current);
    for (const [name, driver] of this.current) this.forward(name, driver);
  }

  get drivers(): ReadonlyMap<string, Driver> {
    return this.current;
  }

  private forward(name: string, driver: Driver): void {
    const forwarder = (event: Record<string, unknown>) => this.emit('event', { ...event, driver: name });
    this.forwarders.set(driver, forwarder);
    driver.on('event', forwarder);
  }

  private unforward(driver: Driver): void {
    const forwarder = this.forwarders.get(driver);
    if (forwarder) driver.off('event', forwarder);
    this.forwarders.delete(driver);
  }

  /**
   * Applies a new `drivers:` section in place: instances whose config did not change keep running
   * untouched; changed and removed ones are made safe and closed; changed and added ones are built and
   * opened. Returns the instance names it touched. If a new driver fails to open, the previous set is
   * restored (the old configs rebuilt) and the error is thrown.
   */
  async reconfigure(
    next: DriversConfig,
    previous: DriversConfig,
    shared: Omit<DriverContext, 'name'>,
    state: StateSink,
  ): Promise<string[]> {
    const same = (name: string) => JSON.stringify(next[name]) === JSON.stringify(previous[name]);
    const touched = [...new Set([...Object.keys(previous), ...Object.keys(next)])].filter((n) => !same(n));
    if (touched.length === 0) return [];
    const replaced = touched.flatMap((name) => {
      const driver = this.current.get(name);
      return driver ? [[name, driver] as const] : [];
    });
    await Promise.allSettled(replaced.map(([, d]) => d.safeStop()));
    await Promise.allSettled(replaced.map(([, d]) => d.close()));
    for (const [name, driver] of replaced) {
      this.unforward(driver);
      this.current.delete(name);
    }
    const added = new Map<string, Driver>();
    try {
      for (const name of touched) {
        const config = next[name];
        if (config) added.set(name, await buildDriver(name, config, shared));
      }
      const candidate = new Map(this.current);
      for (const [name, driver] of added) candidate.set(name, driver);
      const index = deviceIndex(candidate);
      await new DriverRegistry(added).open(state);
      for (const [name, driver] of added) this.forward(name, driver);
      this.current = candidate;
      this.byDevice = index;
    } catch (error) {
      const restore = Object.fromEntries(replaced.map(([name]) => [name, previous[name]!]));
      const back = await createDrivers(restore, shared);
      await back.open(state);
      for (const [name, driver] of back.current) {
        this.current.set(name, driver);
        this.forward(name, driver);
      }
      this.byDevice = deviceIndex(this.current);
      throw error;
    }
    return touched;
  }

  driverFor(device: string): Driver | undefined {
    return this.byDevice.get(device);
  }

  get devices(): string[] {
    return [...this.byDevice.keys()];
  }

  get(name: string): Driver | undefined {
    return this.drivers.get(name);
  }

  /** Opens every driver; if one fails the ones already open are closed again and the error names it. */
  async open(state: StateSink): Promise<void> {
    const opened: Driver[] = [];
    for (const [name, driver] of this.drivers) {
      try {
        await driver.open(state);
        opened.push(driver);
      } catch (error) {
        await Promise.allSettled(opened.map((d) => d.close()));
        throw new Error(`driver ${name} (${driver.kind}) failed to open: ${(error as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.drivers.values()].map((d) => d.close()));
  }

  /** Every actuator to its safe state, all drivers in parallel; never throws. */
  async safeStopAll(filter: (driver: Driver) => boolean = () => true): Promise<void> {
    await Promise.allSettled([...this.drivers.values()].filter(filter).map((d) => d.safeStop()));
  }

  health(): Record<string, DriverHealth> {
    return Object.fromEntries([...this.drivers].map(([name, d]) => [name, d.health()]));
  }
}

/** device → driver; a device name may belong to one driver only. */
function deviceIndex(drivers: ReadonlyMap<string, Driver>): Map<string, Driver> {
  const index = new Map<string, Driver>();
  for (const [name, driver] of drivers) {
    for (const device of driver.devices) {
      const other = index.get(device);
      if (other) {
        const otherName = [...drivers].find(([, d]) => d === other)?.[0];
        throw new Error(`device ${device} is provided by both drivers ${otherName} and ${name}; rename one`);
      }
      index.set(device, driver);
    }
  }
  return index;
}

function buildDriver(
  name: string,
  config: DriversConfig[string],
  shared: Omit<DriverContext, 'name'>,
): Promise<Driver> {
  const factory = driverFactories[config.kind] as (c: typeof config, ctx: DriverContext) => Promise<Driver>;
  return factory(config, { ...shared, name });
}

/** Builds (but does not open) the drivers of a validated `drivers:` config section. */
export async function createDrivers(
  config: DriversConfig,
  shared: Omit<DriverContext, 'name'> = {},
): Promise<DriverRegistry> {
  const drivers = new Map<string, Driver>();
  for (const [name, driverConfig] of Object.entries(config))
    drivers.set(name, await buildDriver(name, driverConfig, shared));
  return new DriverRegistry(drivers);
}
