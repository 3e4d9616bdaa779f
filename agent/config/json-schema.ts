import { z } from 'zod';
import { configSchema } from './schema.ts';

/** The config file's JSON Schema, for editors and for fleet tooling that validates before pushing. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
