import { z } from 'zod';
import { gpioDriverSchema } from './gpio/schema.ts';
import type { Driver } from './types.ts';
import { virtualDriverSchema } from './virtual/schema.ts';

// Every driver kind: its config schema (discriminated by `kind`) and a factory that imports the
// implementation lazily, so loading the config never pulls in serialport or child processes.
// Adding a kind = one folder (schema.ts + driver) + one entry in each list below. See drivers/README.md.

export const driverConfigSchema = z.discriminatedUnion('kind', [virtualDriverSchema, gpioDriverSchema]);

export type DriverConfig = z.infer<typeof driverConfigSchema>;

/** Shared resources a driver may need; the agent runtime provides them. */
export interface DriverContext {
  /** Instance name from the config (the key under `drivers:`). */
  name: string;
  /** The agent's MQTT connection, for drivers that talk to other devices over MQTT. */
  mqtt?: import('./mqtt/link.ts').MqttLink;
}

type Factories = {
  [K in DriverConfig['kind']]: (
    config: Extract<DriverConfig, { kind: K }>,
    context: DriverContext,
  ) => Promise<Driver>;
};

export const driverFactories: Factories = {
  virtual: async (config) => new (await import('./virtual/driver.ts')).VirtualWorld(config),
  gpio: async (config) => new (await import('./gpio/driver.ts')).GpioDriver(config),
};
