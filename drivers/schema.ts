import { z } from 'zod';
import { driverConfigSchema } from './kinds.ts';

/** The `drivers:` config section: instance name → driver config (`kind` picks the driver). */
export const driversSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-" only'), driverConfigSchema)
  .prefault({ world: { kind: 'virtual' } })
  .describe('driver instances by name; default: the virtual world');

export type DriversConfig = z.infer<typeof driversSchema>;
