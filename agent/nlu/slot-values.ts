/** Slot value resolution: list synonym → canonical (exact, then one edit away), builtin → resolve(), open → text. */

import type { SlotInfo } from '../../models/factory/artifact.ts';
import { builtinEntity } from '../decide/entities/registry.ts';

export function editDistanceAtMost(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      best = Math.min(best, v);
    }
    if (best > max) return false;
    prev = row;
  }
  return prev[b.length]! <= max;
}

export function resolveSlotValue(
  info: SlotInfo | undefined,
  text: string,
  normalized: string,
  lists: Record<string, Record<string, string>>,
): unknown {
  if (!info) return text;
  if (info.kind === 'list') {
    const list = lists[info.type] ?? {};
    const exact = list[normalized];
    if (exact !== undefined) return exact;
    // typos: the closest synonym one edit away (two for long words), when unique
    const max = normalized.length >= 8 ? 2 : 1;
    const near = [
      ...new Set(
        Object.keys(list)
          .filter((s) => s.length >= 4 && editDistanceAtMost(s, normalized, max))
          .map((s) => list[s]!),
      ),
    ];
    return near.length === 1 ? near[0] : text;
  }
  if (info.kind === 'builtin') return builtinEntity(info.type)?.resolve(text) ?? text;
  return text;
}
