import { z } from 'zod';
import { firmataDriverSchema } from './firmata/schema.ts';
import { gpioDriverSchema } from './gpio/schema.ts';
import { mqttDriverSchema } from './mqtt/schema.ts';
import { serialDriverSchema } from './serial/schema.ts';
import type { Driver } from './types.ts';
import { virtualDriverSchema } from './virtual/schema.ts';

// Every driver kind: its config schema (discriminated by `kind`) and a factory that imports the
// implementation lazily, so loading the config never pulls in serialport or child processes.
// Adding a kind = one folder (schema.ts + driver) + one entry in each list below. See drivers/README.md.

export const driverConfigSchema = z.discriminatedUnion('kind', [
  virtualDriverSchema,
  gpioDriverSchema,
  mqttDriverSchema,
  serialDriverSchema,
  firmataDriverSchema,
]);

export type DriverConfig = z.infer<typeof driverConfigSchema>;

/** Shared resources a driver may need; the agent runtime provides them. */
export interface DriverContext {
  /** Instance name from the config (the key under `drivers:`). */
  name: string;
  /** The agent's MQTT connection, for drivers that talk to other devices over MQTT. */
  mqtt?: import('./mqtt/link.ts').MqttLink;
  /** Named places of the world (`world.places`), for drivers that navigate (the virtual robot). */
  places?: Record<string, { x: number; y: number; heading_deg?: number }>;
}

type Factories = {
  [K in DriverConfig['kind']]: (
    config: Extract<DriverConfig, { kind: K }>,
    context: DriverContext,
  ) => Promise<Driver>;
};

export const driverFactories: Factories = {
  virtual: async (config, context) =>
    new (await import('./virtual/driver.ts')).VirtualWorld(config, context.places),
  gpio: async (config) => new (await import('./gpio/driver.ts')).GpioDriver(config),
  mqtt: async (config, context) =>
    new (await import('./mqtt/driver.ts')).MqttDeviceDriver(config, context.mqtt, context.name),
  serial: async (config) => new (await import('./serial/driver.ts')).SerialDriver(config),
  firmata: async (config) => new (await import('./firmata/driver.ts')).FirmataDriver(config),
};
