import { z } from 'zod';

/** One telemetry field mapped into the state store: value = raw * scale + offset. */
export const telemetryMappingSchema = z.strictObject({
  key: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a state key such as sensors.front_distance_cm'),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
});

/** A robot (two motors + gripper servo) on a serial port running the Sling line protocol. */
export const serialDriverSchema = z
  .strictObject({
    kind: z.literal('serial'),
    path: z
      .string()
      .min(1)
      .describe('serial device; prefer a stable /dev/serial/by-id/... path so replugging finds it again'),
    baudRate: z.number().int().min(1200).max(4_000_000).default(115200),
    devices: z
      .strictObject({
        robot: z.string().min(1).default('robot'),
        gripper: z.string().min(1).default('gripper'),
      })
      .prefault({}),
    requestTimeoutMs: z.number().int().min(10).max(10_000).default(250),
    retries: z.number().int().min(0).max(10).default(2),
    heartbeatMs: z
      .number()
      .int()
      .min(20)
      .max(400)
      .default(150)
      .describe('must stay well under the firmware deadman (500 ms)'),
    staleAfterMs: z.number().int().min(100).max(60_000).default(1000),
    watchdogMs: z.number().int().min(10).max(10_000).default(100),
    reconnectMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(100)
      .describe('how often to look for the device'),
    syncTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
    openTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(3000)
      .describe('how long open() waits for the device; the agent starts anyway and reconnects later'),
    maxLineLength: z.number().int().min(16).max(4096).default(256),
    robot: z
      .strictObject({
        maxSpeedMps: z.number().positive().max(10).default(0.5).describe('ground speed at full duty (255)'),
        speedMps: z.number().positive().max(10).default(0.25).describe('speed until set_speed changes it'),
        trackWidthM: z.number().positive().max(5).default(0.2),
      })
      .prefault({}),
    gripper: z
      .strictObject({
        openDeg: z.number().int().min(0).max(180).default(90),
        closedDeg: z.number().int().min(0).max(180).default(10),
        travelMs: z
          .number()
          .int()
          .min(0)
          .max(5000)
          .default(300)
          .describe('time the servo needs to get there'),
      })
      .prefault({}),
    telemetry: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), telemetryMappingSchema)
      .default({})
      .describe('extra telemetry fields to publish as sensors, e.g. a0 → sensors.front_distance_cm'),
  })
  .describe('serial robot driver (drivers/serial)');

export type SerialDriverConfig = z.infer<typeof serialDriverSchema>;
export type SerialDriverConfigInput = z.input<typeof serialDriverSchema>;
