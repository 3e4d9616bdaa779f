import { z } from 'zod';

/**
 * Skill files (config/skills/*.yaml): one key per intent, mapping the intent's slots to ordered actions on
 * named devices, or to a state query answered with a short reply. Pure schema; loading is in load-skills.ts.
 */

const conversions = ['speed_mps', 'celsius', 'celsius_delta', 'place', 'number'] as const;

export const slotRefSchema = z.strictObject({
  slot: z.string().describe('slot name in the intent spec'),
  default: z.unknown().optional().describe('value when the slot is absent (in the converted unit)'),
  map: z.record(z.string(), z.unknown()).optional().describe('canonical slot value → parameter value'),
  convert: z
    .enum(conversions)
    .optional()
    .describe(
      'speed_mps: builtin.speed → m/s (fractions of the device max); celsius / celsius_delta: ' +
        'builtin.temperature → °C; place: a known place name; number: any numeric slot',
    ),
  scale: z.number().optional().describe('multiply the value, e.g. -1'),
  negate_when: z
    .record(z.string(), z.array(z.string()))
    .optional()
    .describe('negate when another slot has one of these values, e.g. {direction: [backward]}'),
});

export const paramValueSchema = z.union([z.number(), z.string(), z.boolean(), slotRefSchema]);

export const skillActionSchema = z.strictObject({
  device: z.string().optional().describe("device id; default: the skill's selected device(s)"),
  action: z.string(),
  when: z.string().optional().describe('only when this slot is present'),
  params: z.record(z.string(), paramValueSchema).default({}),
});

export const deviceSelectorSchema = z.union([
  z.string().describe('one device id'),
  z.strictObject({
    kind: z.string().describe('devices of this kind, chosen by the `device` or `room` slots'),
    unspecified: z
      .union([z.literal('all'), z.literal('refuse'), z.string()])
      .default('all')
      .describe('no device or room named: all devices of the kind, refuse, or this device id'),
  }),
]);

export const skillSlotSchema = z.strictObject({
  type: z.string().optional().describe('builtin.* type, to resolve the words when the parser did not'),
  default: z.unknown().optional(),
  required: z.string().optional().describe('reply when the slot is missing (the command is refused)'),
  from: z
    .array(z.string())
    .optional()
    .describe('other slots to take the value from when this one is missing (a "kitchen" tagged as a room)'),
});

export const querySchema = z.strictObject({
  key: z.string().describe('state key template, e.g. sensors.temperature.{room}'),
  reply: z.string().describe('reply template; {value} is the state value, {value.x} a field of it'),
  missing: z.string().default("I don't know yet.").describe('reply when the key has no value'),
});

export const skillSchema = z
  .strictObject({
    description: z.string().optional(),
    device: deviceSelectorSchema.optional(),
    slots: z.record(z.string(), skillSlotSchema).default({}),
    actions: z.array(skillActionSchema).default([]),
    query: querySchema.optional(),
    reply: z.string().optional().describe('reply template: {param}, {slot}, {device}'),
    refuse: z
      .string()
      .optional()
      .describe(
        'always refuse with this reply: for near-miss intents the world cannot do ("turn on the radio")',
      ),
    notUnderstood: z
      .boolean()
      .default(false)
      .describe('with refuse: report the command as not understood (an out-of-scope intent), not as refused'),
  })
  .refine(
    (s) => s.actions.length > 0 || s.query !== undefined || s.refuse !== undefined,
    'a skill needs actions, a query or refuse',
  );

export const skillFileSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, 'intent names are letters, digits, ".", "_" or "-"'),
  skillSchema,
);

export type Skill = z.infer<typeof skillSchema>;
export type SkillAction = z.infer<typeof skillActionSchema>;
export type SlotRef = z.infer<typeof slotRefSchema>;
export type ParamValue = z.infer<typeof paramValueSchema>;
export type Skills = Record<string, Skill>;
