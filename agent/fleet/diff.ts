import { isPlainObject, leafPaths, metaAt } from './meta.ts';
import { canonicalJson } from './signing.ts';

export interface ConfigChange {
  /** Dotted path of the changed setting, e.g. `nlu.model`. */
  path: string;
  before: unknown;
  after: unknown;
  /** From the schema's `apply` meta: `live` settings are reapplied by the agent, `restart` ones wait for a restart. */
  apply: 'live' | 'restart';
  motionSafe: boolean;
}

export interface ConfigDiff {
  changes: ConfigChange[];
  /** Top-level config sections with at least one change: what the agent must reapply. */
  sections: string[];
  /** Paths that only take effect after a restart (reported as `restart_required`). */
  restartRequired: string[];
  /** Every change may be applied while a motion action is executing. */
  motionSafe: boolean;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

const same = (a: unknown, b: unknown) =>
  a === b || (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));

/** What changed between two effective configs, leaf by leaf (lists compare whole), with how to apply each. */
export function diffConfigs(before: unknown, after: unknown): ConfigDiff {
  const seen = new Set<string>();
  const changes: ConfigChange[] = [];
  for (const path of [...leafPaths(before), ...leafPaths(after)]) {
    const key = path.join('.');
    if (seen.has(key) || path.length === 0) continue;
    seen.add(key);
    const old = valueAt(before, path);
    const next = valueAt(after, path);
    if (same(old, next)) continue;
    const meta = metaAt(path);
    changes.push({
      path: key,
      before: old,
      after: next,
      apply: meta.apply === 'restart' ? 'restart' : 'live',
      motionSafe: meta.motionSafe === true,
    });
  }
  changes.sort((a, b) => a.path.localeCompare(b.path));
  return {
    changes,
    sections: [...new Set(changes.map((c) => c.path.split('.')[0]!))],
    restartRequired: changes.filter((c) => c.apply === 'restart').map((c) => c.path),
    motionSafe: changes.every((c) => c.motionSafe),
  };
}
