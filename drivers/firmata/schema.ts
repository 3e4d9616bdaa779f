import { z } from 'zod';

const pin = z.number().int().min(0).max(127);

/** What a named device on a Firmata board is, and which pin it uses. */
export const firmataDeviceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('switch').describe('digital output: relay, LED; actions on, off'),
    pin,
    activeLow: z.boolean().default(false),
  }),
  z.strictObject({
    type: z
      .literal('pwm')
      .describe('PWM output: dimmable LED, fan; actions on, off, set {brightness_pct | speed_pct}'),
    pin,
  }),
  z.strictObject({
    type: z.literal('servo').describe('hobby servo; actions set {angle_deg}, open, close'),
    pin,
    minPulseUs: z.number().int().min(400).max(3000).default(544),
    maxPulseUs: z.number().int().min(400).max(3000).default(2400),
    openDeg: z.number().int().min(0).max(180).default(90),
    closedDeg: z.number().int().min(0).max(180).default(10),
  }),
  z.strictObject({
    type: z.literal('input').describe('digital input with pull-up: button, bump switch, hardware e-stop'),
    pin,
    pullup: z.boolean().default(true),
    activeLow: z.boolean().default(true),
    estop: z.boolean().default(false).describe('when active, report an emergency stop'),
  }),
  z.strictObject({
    type: z.literal('analog').describe('analog input A<n>, published as value = raw * scale + offset'),
    channel: z.number().int().min(0).max(15),
    key: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .describe('state key, e.g. sensors.light.kitchen'),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
  }),
]);

export const firmataDriverSchema = z
  .strictObject({
    kind: z.literal('firmata'),
    path: z
      .string()
      .min(1)
      .describe('serial device of a board running StandardFirmata; prefer /dev/serial/by-id/...'),
    baudRate: z.number().int().min(1200).max(2_000_000).default(57600),
    devices: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), firmataDeviceSchema),
    readyTimeoutMs: z.number().int().min(500).max(60_000).default(10_000),
    heartbeatMs: z.number().int().min(50).max(10_000).default(500),
    staleAfterMs: z.number().int().min(200).max(60_000).default(2000),
    reconnectMs: z.number().int().min(10).max(60_000).default(250),
    openTimeoutMs: z.number().int().min(0).max(60_000).default(10_000),
    samplingIntervalMs: z.number().int().min(10).max(1000).default(50),
  })
  .describe('pins, PWM and servos on a StandardFirmata board (drivers/firmata)');

export type FirmataDeviceConfig = z.infer<typeof firmataDeviceSchema>;
export type FirmataDriverConfig = z.infer<typeof firmataDriverSchema>;
export type FirmataDriverConfigInput = z.input<typeof firmataDriverSchema>;
