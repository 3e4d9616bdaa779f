import { z } from 'zod';

const lineOffset = z
  .number()
  .int()
  .min(0)
  .max(1023)
  .describe('line offset on the chip (BCM number on a Pi header)');

export const gpioOutputSchema = z.strictObject({
  line: lineOffset,
  activeLow: z.boolean().default(false).describe('on = electrically low (many relay boards)'),
  initial: z.enum(['on', 'off']).default('off'),
  safe: z.enum(['on', 'off', 'keep']).default('off').describe('level on e-stop / deadman / shutdown'),
});

export const gpioInputSchema = z.strictObject({
  line: lineOffset,
  activeLow: z
    .boolean()
    .default(false)
    .describe('pressed = electrically low (button to ground with pull-up)'),
  bias: z.enum(['as-is', 'pull-up', 'pull-down', 'disable']).default('as-is'),
  debounceMs: z.number().int().min(0).max(1000).default(20),
  role: z
    .enum(['event', 'estop'])
    .default('event')
    .describe('estop: becoming active trips the emergency stop; event: reported as an input event'),
});

export const simChipSchema = z.strictObject({
  name: z.string(),
  label: z.string(),
  lines: z.number().int().min(1).max(1024),
});

/** GPIO over the Linux character device (libgpiod tools), sysfs as fallback, or a simulated chip. */
export const gpioDriverSchema = z.strictObject({
  kind: z.literal('gpio'),
  backend: z
    .enum(['auto', 'gpiod', 'sysfs', 'sim'])
    .default('auto')
    .describe('auto: libgpiod tools if installed (apt install gpiod), else sysfs; sim: simulated chip'),
  chip: z
    .string()
    .default('auto')
    .describe('chip label (pinctrl-rp1 on a Pi 5), name (gpiochip0) or auto (the Pi header chip)'),
  outputs: z.record(z.string(), gpioOutputSchema).default({}).describe('device name → output line'),
  inputs: z.record(z.string(), gpioInputSchema).default({}).describe('input name → input line'),
  sysfsPollMs: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(10)
    .describe('input polling period of the sysfs fallback'),
  sim: z
    .strictObject({
      chips: z
        .array(simChipSchema)
        .min(1)
        .default([{ name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54 }])
        .describe('simulated chips (default: a Raspberry Pi 5 header chip)'),
    })
    .prefault({}),
});

export type GpioDriverConfig = z.infer<typeof gpioDriverSchema>;
export type GpioOutputConfig = z.infer<typeof gpioOutputSchema>;
export type GpioInputConfig = z.infer<typeof gpioInputSchema>;
