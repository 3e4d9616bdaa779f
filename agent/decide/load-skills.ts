import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { type Skills, skillFileSchema } from './skills.ts';

/** A skill file that cannot be used: every problem with file, line and key path. */
export class SkillError extends Error {}

/** Parses one skill file's text; `name` is used in error messages. */
export function parseSkills(text: string, name: string): Skills {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new SkillError(`${name}:${pos.line}:${pos.col}: ${e.message}`);
  }
  const result = skillFileSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    // The deepest node that exists on the issue's path, so the line points at the offending value.
    let line = 1;
    for (let depth = issue.path.length; depth > 0; depth--) {
      const node = doc.getIn(issue.path.slice(0, depth) as (string | number)[], true) as
        | { range?: [number] }
        | undefined;
      if (node?.range) {
        line = lineCounter.linePos(node.range[0]).line;
        break;
      }
    }
    return `${name}:${line}: ${issue.path.join('.')}: ${issue.message}`;
  });
  throw new SkillError(problems.join('\n'));
}

/** Every `*.yaml` in the directory, merged; an intent defined twice is an error. */
export function loadSkills(dir: string): Skills {
  const skills: Skills = {};
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  for (const file of files) {
    const path = join(dir, file);
    for (const [intent, skill] of Object.entries(parseSkills(readFileSync(path, 'utf8'), path))) {
      if (intent in skills) throw new SkillError(`${path}: intent "${intent}" already has a skill`);
      skills[intent] = skill;
    }
  }
  return skills;
}
