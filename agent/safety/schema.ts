import { z } from 'zod';

// Safety settings: limits per device (glob patterns like `light.*`), interlocks on sensor state, e-stop
// topics and the deadman. Applied after the model and the skills, whatever they produced.

export const rangeSchema = z
  .strictObject({
    min: z.number().optional(),
    max: z.number().optional(),
    policy: z.enum(['clamp', 'refuse']).optional().describe('overrides the device policy for this param'),
  })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must be <= max');

export const deviceSafetySchema = z.strictObject({
  policy: z
    .enum(['clamp', 'refuse'])
    .default('clamp')
    .describe('what to do with a value outside its range: clamp it into range, or refuse the action'),
  motion: z
    .boolean()
    .default(false)
    .describe('moves something: stopped by the deadman, time-bounded, refused while the broker is lost'),
  maxActionS: z
    .number()
    .positive()
    .max(3600)
    .default(120)
    .describe('an action on this device running longer than this is cancelled'),
  limits: z
    .record(z.string(), rangeSchema)
    .default({})
    .describe('param name (dotted for nested params, e.g. color.r) → allowed range'),
});

export const interlockSchema = z
  .strictObject({
    device: z.string().describe('device name or glob (robot, light.*)'),
    actions: z.array(z.string()).min(1).describe('actions this interlock guards'),
    key: z
      .string()
      .describe('state key that must stay above/below a threshold, e.g. sensors.front_distance_cm'),
    below: z.number().optional().describe('violated while the state value is below this'),
    above: z.number().optional().describe('violated while the state value is above this'),
    when: z
      .strictObject({
        param: z.string(),
        sign: z.enum(['positive', 'negative']),
      })
      .optional()
      .describe('only applies when this param has this sign (e.g. forward moves: distance_m positive)'),
    missing: z
      .enum(['refuse', 'allow'])
      .default('refuse')
      .describe('missing or stale sensor value: refuse (fail safe) or allow'),
    reason: z.string().describe('told to the user; {value} and {threshold} are filled in'),
  })
  .refine((lock) => lock.below !== undefined || lock.above !== undefined, 'needs below or above');

// Per-device ranges of the world's devices (distance, angle, speed, target temperature...) live in
// `world.devices.<id>.limits`, the one place both the skills and this layer read (see world-limits.ts).
// What stays here is what the world does not describe: motion flags, time bounds, hardware-level params.
const defaultDevices = {
  robot: {
    motion: true,
    limits: {
      // `drive` of the serial robot: wheel fractions and a bounded duration.
      left: { min: -1, max: 1 },
      right: { min: -1, max: 1 },
      duration_s: { min: 0, max: 30 },
    },
  },
  gripper: { motion: true, maxActionS: 10, limits: { angle_deg: { min: 0, max: 180 } } },
  'light.*': {
    limits: {
      brightness_pct: { min: 0, max: 100 },
      'color.r': { min: 0, max: 255 },
      'color.g': { min: 0, max: 255 },
      'color.b': { min: 0, max: 255 },
    },
  },
};

const defaultInterlocks = [
  {
    device: 'robot',
    actions: ['move'],
    when: { param: 'distance_m', sign: 'positive' as const },
    key: 'sensors.front_distance_cm',
    below: 30,
    reason: 'obstacle ahead: front distance {value} cm is under {threshold} cm',
  },
  {
    device: 'robot',
    actions: ['goto'],
    key: 'sensors.front_distance_cm',
    below: 30,
    reason: 'obstacle ahead: front distance {value} cm is under {threshold} cm',
  },
  {
    device: 'robot',
    actions: ['move', 'turn', 'goto'],
    key: 'robot.battery_pct',
    below: 5,
    // No battery telemetry is no evidence of danger (many serial bases have none); no range reading is.
    missing: 'allow' as const,
    reason: 'battery too low to move ({value}% < {threshold}%)',
  },
];

export const safetySchema = z
  .strictObject({
    devices: z
      .record(z.string(), deviceSafetySchema)
      .default(() => z.record(z.string(), deviceSafetySchema).parse(defaultDevices))
      .describe('per device (or glob) policy; the most specific pattern wins'),
    absurdFactor: z
      .number()
      .min(1)
      .default(10)
      .describe('a value beyond factor × the largest limit is refused even under the clamp policy'),
    interlocks: z.array(interlockSchema).default(() => z.array(interlockSchema).parse(defaultInterlocks)),
    estopTopics: z
      .array(z.string())
      .default([])
      .describe('extra MQTT topics whose any message trips the e-stop (besides the agent topic)'),
    deadman: z
      .strictObject({
        stallMs: z
          .number()
          .int()
          .min(20)
          .default(250)
          .describe('event loop blocked longer than this stops motion'),
        requireBroker: z
          .boolean()
          .default(true)
          .describe('stop motion and refuse new motion without the broker'),
        heartbeatMs: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('0 = off; else motion needs safety.heartbeat() at least this often (operator deadman)'),
      })
      .prefault({}),
  })
  .prefault({});

export type SafetyConfig = z.infer<typeof safetySchema>;
export type DeviceSafety = z.infer<typeof deviceSafetySchema>;
export type Interlock = z.infer<typeof interlockSchema>;
export type Range = z.infer<typeof rangeSchema>;
