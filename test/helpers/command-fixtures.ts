import { readFileSync } from 'node:fs';
import type { Action } from '../../agent/decide/types.ts';
import { fromProjectRoot } from '../../agent/paths.ts';

/** One hand-written command and what must come of it. */
export interface CommandFixture {
  line: number;
  text: string;
  expect: { kind: 'actions'; actions: Action[] } | { kind: 'query'; intent: string } | { kind: 'refused' };
}

function paramValue(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const rgb = /^(\d+),(\d+),(\d+)$/.exec(raw);
  if (rgb) return { r: Number(rgb[1]), g: Number(rgb[2]), b: Number(rgb[3]) };
  return raw;
}

function parseActions(spec: string, where: string): Action[] {
  return spec.split(';').map((step) => {
    const [device, action, ...params] = step.trim().split(/\s+/);
    if (!device || !action) throw new Error(`${where}: an action needs "device action [k=v...]": "${step}"`);
    return {
      device,
      action,
      params: Object.fromEntries(
        params.map((p) => {
          const [k, v] = p.split('=');
          if (!k || v === undefined) throw new Error(`${where}: bad parameter "${p}"`);
          return [k, paramValue(v)];
        }),
      ),
    };
  });
}

/** test/fixtures/commands.txt: `text | device action k=v ; ...`, `text | ? intent` or `text | refused`. */
export function loadCommandFixtures(file = fromProjectRoot('test/fixtures/commands.txt')): CommandFixture[] {
  const out: CommandFixture[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const where = `${file}:${i + 1}`;
      const bar = line.lastIndexOf(' | ');
      if (bar < 0) throw new Error(`${where}: expected "text | plan"`);
      const text = line.slice(0, bar).trim();
      const plan = line.slice(bar + 3).trim();
      if (plan === 'refused') out.push({ line: i + 1, text, expect: { kind: 'refused' } });
      else if (plan.startsWith('?'))
        out.push({ line: i + 1, text, expect: { kind: 'query', intent: plan.slice(1).trim() } });
      else out.push({ line: i + 1, text, expect: { kind: 'actions', actions: parseActions(plan, where) } });
    });
  return out;
}

/** test/fixtures/out-of-scope.txt: one input per line that must be refused. */
export function loadOutOfScope(file = fromProjectRoot('test/fixtures/out-of-scope.txt')): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Plans compare exactly, except for float noise below a millionth. */
export function sameActions(got: readonly Action[], want: readonly Action[]): boolean {
  const same = (a: unknown, b: unknown): boolean => {
    if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) < 1e-6;
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      const ka = Object.keys(a).sort();
      const kb = Object.keys(b).sort();
      return ka.join() === kb.join() && ka.every((k) => same((a as never)[k], (b as never)[k]));
    }
    return a === b;
  };
  return got.length === want.length && got.every((a, i) => same(a, want[i]));
}
