import { z } from 'zod';

/** An environment variable that overrides one leaf of the config, e.g. SLING_MQTT_URL → mqtt.url. */
export interface EnvBinding {
  name: string;
  path: string[];
  schema: z.ZodType;
}

const toEnvWord = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
}

/** Lists every overridable leaf of a schema; objects are walked, everything else is a leaf. */
export function envBindings(schema: z.ZodType, prefix = 'SLING', path: string[] = []): EnvBinding[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape).flatMap(([key, child]) =>
      envBindings(child as z.ZodType, `${prefix}_${toEnvWord(key)}`, [...path, key]),
    );
  }
  return [{ name: prefix, path, schema }];
}

/**
 * Environment values are strings; a leaf that takes a string gets it verbatim (so SLING_DEVICE_ID=42 stays
 * "42"), anything else is read as JSON (numbers, booleans, arrays) and falls back to the raw string so
 * validation can say what is wrong with it.
 */
export function parseEnvValue(raw: string, leaf: z.ZodType): unknown {
  if (leaf.safeParse(raw).success) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
