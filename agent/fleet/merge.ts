import { isPlainObject } from './meta.ts';

/**
 * Deep merge of config layers, lowest precedence first (local file < fleet < groups < device):
 * - objects merge key by key, recursively;
 * - arrays and scalars from a higher layer replace the lower value whole (lists are never concatenated,
 *   so a layer can always say exactly what a list is);
 * - `null` deletes the key from everything merged so far, so the schema default applies again.
 * Hand-written because common merge libraries treat `null` as a value, not as a deletion.
 */
export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (overlay === undefined) return structuredClone(base);
  if (!isPlainObject(overlay)) return structuredClone(overlay);
  const result: Record<string, unknown> = isPlainObject(base) ? structuredClone(base) : {};
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete result[key];
    else result[key] = deepMerge(result[key], value);
  }
  return result;
}

export function mergeLayers(layers: readonly unknown[]): Record<string, unknown> {
  let merged: unknown = {};
  for (const layer of layers) merged = deepMerge(merged, layer);
  return stripNulls(merged) as Record<string, unknown>;
}

/** A `null` in the lowest layer that had nothing to delete must not reach validation as a value. */
function stripNulls(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, stripNulls(v)]),
  );
}
