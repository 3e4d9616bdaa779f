import { z } from 'zod';

const point = z.strictObject({ x: z.number(), y: z.number() });

export const placeSchema = z.strictObject({
  x: z.number().describe('m, REP 103: x forward from the dock'),
  y: z.number().describe('m, y to the left'),
  heading_deg: z
    .number()
    .optional()
    .describe('final heading, CCW positive; unset = keep the arrival heading'),
});

/** Same coordinates as the command language's default world places (agent/decide/world.ts). */
export const DEFAULT_PLACES: Record<string, z.infer<typeof placeSchema>> = {
  dock: { x: 0, y: 0, heading_deg: 0 },
  kitchen: { x: 4, y: 1 },
  living_room: { x: 1, y: 3 },
  bedroom: { x: -2, y: 4 },
  hallway: { x: 1, y: 0 },
  front_door: { x: 0, y: -1 },
};

/** The default world of the command language: a differential-drive robot in a small virtual home. */
export const virtualDriverSchema = z.strictObject({
  kind: z.literal('virtual'),
  timeScale: z
    .number()
    .positive()
    .max(1000)
    .default(1)
    .describe('simulated seconds per real second (1 = real time; tests may speed it up)'),
  tickMs: z.number().int().min(5).max(1000).default(20).describe('motion integration period'),
  deadmanMs: z
    .number()
    .int()
    .min(50)
    .default(500)
    .describe('the simulated motor controller stops when its control loop gets no tick for this long'),
  sensorPeriodMs: z.number().int().min(10).default(500).describe('how often idle sensors are published'),
  robot: z
    .strictObject({
      maxSpeedMps: z.number().positive().default(0.5).describe('physical top speed'),
      speedMps: z.number().positive().default(0.25).describe('cruise speed until set_speed'),
      turnRateDegS: z.number().positive().default(90),
      radiusM: z.number().positive().default(0.2),
      start: z
        .strictObject({ x: z.number(), y: z.number(), heading_deg: z.number() })
        .default({ x: 0, y: 0, heading_deg: 0 }),
      batteryPct: z.number().min(0).max(100).default(100),
      drainPctPerM: z.number().min(0).default(0.5),
      drainPctPerS: z.number().min(0).default(0.002),
      frontRangeCm: z.number().positive().default(400).describe('front distance sensor range'),
      gripperS: z.number().min(0).default(0.5).describe('time to open or close the gripper'),
    })
    .prefault({}),
  bounds: z
    .strictObject({ minX: z.number(), maxX: z.number(), minY: z.number(), maxY: z.number() })
    .default({ minX: -5, maxX: 6, minY: -3, maxY: 6 })
    .describe('walls of the home (m)'),
  obstacles: z
    .array(point.extend({ radiusM: z.number().positive() }))
    .default([])
    .describe('round obstacles the front sensor sees and the robot bumps into'),
  places: z
    .record(z.string(), placeSchema)
    .optional()
    .describe('named places for goto; unset = the world places (world.places), else DEFAULT_PLACES'),
  rooms: z
    .record(z.string(), z.strictObject({ offsetC: z.number().default(0) }))
    .default({ living_room: { offsetC: 0 }, kitchen: { offsetC: 1 }, bedroom: { offsetC: -1 } })
    .describe('rooms with a temperature sensor; each settles at thermostat target + offset'),
  lights: z.array(z.string()).default(['living_room', 'kitchen', 'bedroom']).describe('light.<room> devices'),
  thermostat: z
    .strictObject({
      targetC: z.number().default(21),
      startC: z.number().default(19),
      settlePerS: z.number().min(0).max(1).default(0.01).describe('fraction of the gap closed per second'),
    })
    .prefault({}),
});

export type VirtualDriverConfig = z.infer<typeof virtualDriverSchema>;
export type Place = z.infer<typeof placeSchema>;
