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
  private readonly byDevice = new Map<string, Driver>();

  constructor(readonly drivers: ReadonlyMap<string, Driver>) {
    super();
    for (const [name, driver] of drivers) {
      for (const device of driver.devices) {
        const other = this.byDevice.get(device);
        if (other) {
          const otherName = [...drivers].find(([, d]) => d === other)?.[0];
          throw new Error(
            `device ${device} is provided by both drivers ${otherName} and ${name}; rename one`,
          );
        }
        this.byDevice.set(device, driver);
      }
      driver.on('event', (event: Record<string, unknown>) => this.emit('event', { ...event, driver: name }));
    }
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

/** Builds (but does not open) the drivers of a validated `drivers:` config section. */
export async function createDrivers(
  config: DriversConfig,
  shared: Omit<DriverContext, 'name'> = {},
): Promise<DriverRegistry> {
  const drivers = new Map<string, Driver>();
  for (const [name, driverConfig] of Object.entries(config)) {
    const factory = driverFactories[driverConfig.kind] as (
      c: typeof driverConfig,
      ctx: DriverContext,
    ) => Promise<Driver>;
    drivers.set(name, await factory(driverConfig, { ...shared, name }));
  }
  return new DriverRegistry(drivers);
}
