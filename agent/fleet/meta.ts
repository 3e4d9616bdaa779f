import { z } from 'zod';
import { configSchema } from '../config/schema.ts';
import type { FleetMeta } from './schema.ts';

/** Meta of one schema node and of the wrappers around it (optional, default, prefault…), outermost first. */
function unwrapWithMeta(schema: z.ZodType): { inner: z.ZodType; metas: FleetMeta[] } {
  const metas: FleetMeta[] = [];
  let current: z.ZodType = schema;
  for (;;) {
    const meta = current.meta() as FleetMeta | undefined;
    if (meta) metas.push(meta);
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodReadonly
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return { inner: current, metas };
    }
  }
}

function child(schema: z.ZodType, key: string): z.ZodType | undefined {
  if (schema instanceof z.ZodObject) return (schema.shape as Record<string, z.ZodType>)[key];
  if (schema instanceof z.ZodRecord) return schema.valueType as z.ZodType;
  if (schema instanceof z.ZodArray) return /^\d+$/.test(key) ? (schema.element as z.ZodType) : undefined;
  if (schema instanceof z.ZodUnion) {
    for (const option of schema.options as z.ZodType[]) {
      const found = child(unwrapWithMeta(option).inner, key);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The fleet metadata that governs a config path: every key set along the way, the deepest node winning.
 * Paths the schema does not know (e.g. a record's free keys) inherit from the last node it does.
 */
export function metaAt(path: readonly string[], root: z.ZodType = configSchema): FleetMeta {
  if (root !== configSchema) return walkMeta(path, root);
  // The config schema never changes at run time: remember each path (redaction and diffs ask per leaf).
  const key = path.join('\u0000');
  let meta = metaCache.get(key);
  if (!meta) {
    meta = walkMeta(path, root);
    if (metaCache.size > 10_000) metaCache.clear(); // free-form keys (records) must not grow it forever
    metaCache.set(key, meta);
  }
  return meta;
}

const metaCache = new Map<string, FleetMeta>();

function walkMeta(path: readonly string[], root: z.ZodType): FleetMeta {
  let { inner, metas } = unwrapWithMeta(root);
  const merged: FleetMeta = Object.assign({}, ...metas);
  for (const key of path) {
    const next = child(inner, key);
    if (!next) break;
    ({ inner, metas } = unwrapWithMeta(next));
    // Outer wrappers are listed first; the innermost is applied last so the most specific meta wins.
    for (const meta of metas) Object.assign(merged, meta);
  }
  return merged;
}

/** Every path to a leaf (arrays are leaves: layers replace them whole; empty objects have no leaves). */
export function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (isPlainObject(value)) {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
  }
  return [prefix];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const REDACTED = '[redacted]';

/** A copy with every `secret: true` value replaced, so reports and answers never carry passwords. */
export function redact<T>(value: T, root: z.ZodType = configSchema, path: string[] = []): T {
  if (path.length > 0 && metaAt(path, root).secret && value !== undefined && value !== null) {
    return REDACTED as T;
  }
  if (Array.isArray(value)) return value.map((v, i) => redact(v, root, [...path, String(i)])) as T;
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, redact(child, root, [...path, key])]),
    ) as T;
  }
  return value;
}

/** True when a document value at `path` would set or delete a `localOnly` setting. */
export function touchesLocalOnly(path: readonly string[], root: z.ZodType = configSchema): boolean {
  if (metaAt(path, root).localOnly) return true;
  let { inner } = unwrapWithMeta(root);
  for (const key of path) {
    const next = child(inner, key);
    if (!next) return false;
    inner = unwrapWithMeta(next).inner;
  }
  return hasLocalOnlyBelow(inner);
}

function hasLocalOnlyBelow(schema: z.ZodType): boolean {
  if (!(schema instanceof z.ZodObject)) return false;
  return Object.values(schema.shape as Record<string, z.ZodType>).some((field) => {
    const { inner, metas } = unwrapWithMeta(field);
    return metas.some((m) => m.localOnly) || hasLocalOnlyBelow(inner);
  });
}
