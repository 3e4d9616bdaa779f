import { z } from 'zod';

/**
 * The world the skills act on: named devices (with the names people call them, their room, and limits on
 * action parameters) and named places. `world:` in sling.yaml; the defaults below are the default world
 * (a virtual differential-drive robot with a gripper, and a home with three lights, a thermostat, a fan).
 */

export const limitPolicySchema = z
  .enum(['clamp', 'refuse'])
  .describe('out-of-range value: clamp it to the range (and say so) or refuse the command');

export const rangeSchema = z.strictObject({
  min: z.number().optional(),
  max: z.number().optional(),
  policy: limitPolicySchema.optional().describe('overrides the device policy for this parameter'),
});

export const worldDeviceSchema = z.strictObject({
  kind: z.string().describe('device kind, e.g. robot, light; skills pick devices by kind'),
  names: z.array(z.string()).default([]).describe('what people call it: "big light", "lounge lamp"'),
  room: z.string().optional().describe('room the device is in (a key of world.rooms)'),
  actions: z.array(z.string()).min(1).describe('actions the device accepts'),
  policy: limitPolicySchema.default('clamp'),
  limits: z
    .record(z.string(), rangeSchema)
    .default({})
    .describe('allowed range per action parameter, e.g. distance_m: {min: -5, max: 5}'),
});

export const placeSchema = z.strictObject({
  names: z.array(z.string()).default([]),
  x: z.number(),
  y: z.number(),
  heading_deg: z.number().optional(),
});

export type WorldDevice = z.infer<typeof worldDeviceSchema>;
export type Place = z.infer<typeof placeSchema>;

export const DEFAULT_DEVICES: Record<string, z.input<typeof worldDeviceSchema>> = {
  robot: {
    kind: 'robot',
    names: ['robot', 'bot', 'rover'],
    actions: ['move', 'turn', 'set_speed', 'goto', 'stop', 'estop', 'reset_estop'],
    policy: 'clamp',
    limits: {
      distance_m: { min: -5, max: 5 },
      angle_deg: { min: -720, max: 720 },
      speed_mps: { min: 0.05, max: 0.5 },
    },
  },
  gripper: { kind: 'gripper', names: ['gripper', 'claw', 'hand'], actions: ['open', 'close'] },
  'light.living_room': {
    kind: 'light',
    room: 'living_room',
    names: ['living room light', 'lounge light', 'big light', 'main light', 'ceiling light'],
    actions: ['on', 'off', 'set'],
    limits: { brightness_pct: { min: 0, max: 100 } },
  },
  'light.kitchen': {
    kind: 'light',
    room: 'kitchen',
    names: ['kitchen light', 'kitchen lights', 'light over the counter'],
    actions: ['on', 'off', 'set'],
    limits: { brightness_pct: { min: 0, max: 100 } },
  },
  'light.bedroom': {
    kind: 'light',
    room: 'bedroom',
    names: ['bedroom light', 'bedside lamp', 'reading lamp', 'lamp'],
    actions: ['on', 'off', 'set'],
    limits: { brightness_pct: { min: 0, max: 100 } },
  },
  thermostat: {
    kind: 'thermostat',
    names: ['thermostat', 'heating', 'heater', 'heat'],
    actions: ['set', 'adjust'],
    policy: 'refuse',
    limits: { target_c: { min: 10, max: 30 }, delta_c: { min: -10, max: 10 } },
  },
  fan: {
    kind: 'fan',
    names: ['fan', 'ceiling fan', 'ventilator'],
    actions: ['on', 'off', 'set'],
    limits: { speed_pct: { min: 0, max: 100 } },
  },
};

export const DEFAULT_PLACES: Record<string, z.input<typeof placeSchema>> = {
  dock: { names: ['dock', 'charger', 'charging station', 'home', 'base'], x: 0, y: 0, heading_deg: 0 },
  kitchen: { names: ['kitchen'], x: 4, y: 1 },
  living_room: { names: ['living room', 'lounge', 'front room', 'sitting room'], x: 1, y: 3 },
  bedroom: { names: ['bedroom'], x: -2, y: 4 },
  hallway: { names: ['hallway', 'hall', 'corridor'], x: 1, y: 0 },
  front_door: { names: ['front door', 'door', 'entrance'], x: 0, y: -1 },
};

export const DEFAULT_ROOMS: Record<string, string[]> = {
  living_room: ['living room', 'lounge', 'front room', 'sitting room'],
  kitchen: ['kitchen'],
  bedroom: ['bedroom'],
};

export const worldSchema = z
  .strictObject({
    temperatureUnit: z
      .enum(['C', 'F'])
      .default('C')
      .describe('unit of a bare "degrees" in commands; plans always use °C'),
    skills: z
      .string()
      .default('config/skills')
      .describe('directory of skill files (relative to the project root)'),
    rooms: z.record(z.string(), z.array(z.string())).default(DEFAULT_ROOMS).describe('room → spoken names'),
    // prefault, not default: zod 4 returns a default as is, so its devices would miss their own defaults.
    devices: z.record(z.string(), worldDeviceSchema).prefault(DEFAULT_DEVICES),
    places: z.record(z.string(), placeSchema).prefault(DEFAULT_PLACES),
  })
  .prefault({});

export type World = z.infer<typeof worldSchema>;

/** The default world, parsed (defaults applied). */
export function defaultWorld(): World {
  return worldSchema.parse({});
}
