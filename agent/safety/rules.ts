import type { Action } from '../decide/types.ts';
import type { StateView } from '../state/types.ts';
import type { DeviceSafety, Interlock, Range, SafetyConfig } from './schema.ts';

// Pure policy: limits and interlocks. No timers, no I/O, so every rule is unit-testable on its own.

/** Any number beyond this is refused whatever the limits say (a unit slip, an overflow, a model glitch). */
const ABSURD_ANYWHERE = 1e9;

export type Verdict = { ok: true; action: Action; adjustments: string[] } | { ok: false; reason: string };

/** `light.*` matches `light.kitchen`; `*` alone matches everything. */
export function globMatches(pattern: string, name: string): boolean {
  if (pattern === name || pattern === '*') return true;
  if (!pattern.includes('*')) return false;
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`).test(name);
}

/** The most specific device rule: an exact name beats any glob; among globs the longest pattern wins. */
export function deviceRule(config: SafetyConfig, device: string): DeviceSafety | undefined {
  if (config.devices[device]) return config.devices[device];
  let best: [string, DeviceSafety] | undefined;
  for (const [pattern, rule] of Object.entries(config.devices)) {
    if (globMatches(pattern, device) && (!best || pattern.length > best[0].length)) best = [pattern, rule];
  }
  return best?.[1];
}

function findBadNumber(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${path} is not a finite number (${value})`;
    if (Math.abs(value) > ABSURD_ANYWHERE) return `${path} = ${value} is absurd`;
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const bad = findBadNumber(child, path ? `${path}.${key}` : key);
      if (bad) return bad;
    }
  }
  return undefined;
}

function getPath(params: Record<string, unknown>, path: string): unknown {
  let node: unknown = params;
  for (const key of path.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function setPath(params: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = params;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

const describeRange = (r: Range) => `[${r.min ?? '-∞'}, ${r.max ?? '∞'}]`;

/** Clamps or refuses params against the device's limits; non-finite and absurd values are always refused. */
export function applyLimits(action: Action, config: SafetyConfig): Verdict {
  const bad = findBadNumber(action.params, '');
  if (bad) return { ok: false, reason: `${action.device} ${action.action}: ${bad}` };
  const rule = deviceRule(config, action.device);
  if (!rule) return { ok: true, action, adjustments: [] };
  const params = structuredClone(action.params);
  const adjustments: string[] = [];
  for (const [path, range] of Object.entries(rule.limits)) {
    const value = getPath(params, path);
    if (value === undefined) continue;
    if (typeof value !== 'number') {
      return {
        ok: false,
        reason: `${action.device} ${action.action}: ${path} must be a number, got ${JSON.stringify(value)}`,
      };
    }
    const inRange =
      (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);
    if (inRange) continue;
    const largest = Math.max(Math.abs(range.min ?? 0), Math.abs(range.max ?? 0)) || 1;
    if (Math.abs(value) > config.absurdFactor * largest) {
      return {
        ok: false,
        reason: `${action.device} ${action.action}: ${path} = ${value} is absurd (allowed ${describeRange(range)})`,
      };
    }
    if ((range.policy ?? rule.policy) === 'refuse') {
      return {
        ok: false,
        reason: `${action.device} ${action.action}: ${path} = ${value} is out of range ${describeRange(range)}`,
      };
    }
    const clamped = Math.min(
      range.max ?? Number.POSITIVE_INFINITY,
      Math.max(range.min ?? Number.NEGATIVE_INFINITY, value),
    );
    setPath(params, path, clamped);
    adjustments.push(`${path} ${value} limited to ${clamped}`);
  }
  return { ok: true, action: { ...action, params }, adjustments };
}

function interlockApplies(lock: Interlock, action: Action): boolean {
  if (!globMatches(lock.device, action.device) || !lock.actions.includes(action.action)) return false;
  if (!lock.when) return true;
  const value = getPath(action.params, lock.when.param);
  if (typeof value !== 'number') return false;
  return lock.when.sign === 'positive' ? value > 0 : value < 0;
}

/** The first violated interlock's reason, or undefined when the action may run in the current state. */
export function checkInterlocks(
  action: Action,
  interlocks: Interlock[],
  state: StateView,
): string | undefined {
  for (const lock of interlocks) {
    if (!interlockApplies(lock, action)) continue;
    const entry = state.get(lock.key);
    const value = entry?.value;
    if (typeof value !== 'number' || entry?.stale) {
      if (lock.missing === 'allow') continue;
      return `${lock.reason.replace(/\{value\}/g, '?').replace(/\{threshold\}/g, String(lock.below ?? lock.above))} (${lock.key} ${entry ? 'is stale' : 'has no reading'})`;
    }
    const violated =
      (lock.below !== undefined && value < lock.below) || (lock.above !== undefined && value > lock.above);
    if (violated) {
      const threshold = lock.below !== undefined && value < lock.below ? lock.below : lock.above;
      return lock.reason
        .replace(/\{value\}/g, String(Math.round(value * 10) / 10))
        .replace(/\{threshold\}/g, String(threshold));
    }
  }
  return undefined;
}

/** State keys some interlock of this action watches (to re-check while the action runs). */
export function watchedKeys(action: Action, interlocks: Interlock[]): string[] {
  return interlocks.filter((lock) => interlockApplies(lock, action)).map((lock) => lock.key);
}
