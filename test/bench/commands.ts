/**
 * bench:commands — the default world end to end (text → model → skills → plan) on hand-written commands.
 * Share of exactly-right plans (target >= 95%) and of out-of-scope inputs refused (target >= 95%).
 * Usage: npm run bench:commands [-- --model DIR] [-- --verbose]
 */
import { decide } from '../../agent/decide/decide.ts';
import { loadSkills } from '../../agent/decide/load-skills.ts';
import type { PlanContext } from '../../agent/decide/planner.ts';
import { defaultWorld } from '../../agent/decide/world.ts';
import { loadParser } from '../../agent/nlu/index.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import { expandSpec, loadSpec } from '../../models/factory/spec.ts';
import { loadCommandFixtures, loadOutOfScope, sameActions } from '../helpers/command-fixtures.ts';
import { percentile, writeResult } from './harness.ts';

const args = process.argv.slice(2);
const modelDir = args.includes('--model') ? args[args.indexOf('--model') + 1]! : 'models/default';
const verbose = args.includes('--verbose');

const world = defaultWorld();
const ctx: PlanContext = { world, skills: loadSkills(fromProjectRoot(world.skills)) };
const parser = await loadParser(fromProjectRoot(modelDir));
const fixtures = loadCommandFixtures();
const outOfScope = loadOutOfScope();

// Short commands ("turn left") are naturally also produced by the templates; the score on the fixtures that
// are not verbatim training sentences shows how well the model generalises.
const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9' ]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
const training = new Set(
  expandSpec(loadSpec(fromProjectRoot('config/intents/default.yaml')), 1).map((e) => norm(e.text)),
);
let unseen = 0;
let unseenRight = 0;

let right = 0;
const latencies: number[] = [];
const byGroup = new Map<string, { n: number; ok: number }>();
const failures: string[] = [];
for (const f of fixtures) {
  const t0 = performance.now();
  const { plan, parses } = await decide(parser, f.text, ctx);
  latencies.push(performance.now() - t0);
  let ok: boolean;
  if (f.expect.kind === 'refused') ok = plan.refused !== undefined && plan.actions.length === 0;
  else if (f.expect.kind === 'query') {
    ok =
      !plan.refused &&
      plan.actions.length === 0 &&
      parses.length === 1 &&
      parses[0]!.intent === f.expect.intent;
  } else ok = !plan.refused && sameActions(plan.actions, f.expect.actions);
  const group =
    f.expect.kind === 'actions'
      ? f.expect.actions.length > 1 && parses.length > 1
        ? 'compound'
        : f.expect.actions[0]!.device.split('.')[0]!
      : f.expect.kind;
  const g = byGroup.get(group) ?? { n: 0, ok: 0 };
  g.n++;
  if (ok) {
    right++;
    g.ok++;
  } else {
    failures.push(
      `line ${f.line}: "${f.text}" → ${parses.map((p) => `${p.intent ?? 'null'}(${p.confidence.toFixed(2)}) ${p.slots.map((s) => `${s.name}="${s.text}"`).join(' ')}`).join(' | ')} → ${plan.refused ? `refused: ${plan.refused.reason}` : JSON.stringify(plan.actions)}`,
    );
  }
  byGroup.set(group, g);
  if (!training.has(norm(f.text))) {
    unseen++;
    if (ok) unseenRight++;
  }
}

let refused = 0;
const wronglyAccepted: string[] = [];
for (const text of outOfScope) {
  const { plan, parses } = await decide(parser, text, ctx);
  if (plan.actions.length === 0 && plan.refused) refused++;
  else
    wronglyAccepted.push(
      `"${text}" → ${parses.map((p) => `${p.intent}(${p.confidence.toFixed(2)})`).join(' | ')}`,
    );
}
await parser.release?.();

const pct = (a: number, b: number) => Number(((100 * a) / b).toFixed(2));
const rows = [
  { measure: 'plans exactly right', value: pct(right, fixtures.length), n: fixtures.length, target: '>= 95' },
  { measure: '  not verbatim in training', value: pct(unseenRight, unseen), n: unseen, target: '' },
  {
    measure: 'out-of-scope refused',
    value: pct(refused, outOfScope.length),
    n: outOfScope.length,
    target: '>= 95',
  },
  ...[...byGroup].map(([group, g]) => ({ measure: `  ${group}`, value: pct(g.ok, g.n), n: g.n, target: '' })),
  {
    measure: 'decide p50 ms',
    value: Number(percentile(latencies, 50).toFixed(3)),
    n: latencies.length,
    target: '',
  },
  {
    measure: 'decide p99 ms',
    value: Number(percentile(latencies, 99).toFixed(3)),
    n: latencies.length,
    target: '',
  },
];
if (verbose || failures.length + wronglyAccepted.length <= 40) {
  for (const line of [...failures, ...wronglyAccepted.map((w) => `accepted out-of-scope: ${w}`)]) {
    process.stdout.write(`${line}\n`);
  }
}
writeResult('commands', rows, { model: modelDir, failures, wronglyAccepted });
