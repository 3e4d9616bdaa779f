import type { ParseResult, Parser } from '../nlu/types.ts';
import { splitCompound } from './compound.ts';
import { type PlanContext, planCommand } from './planner.ts';
import { outOfScopeIntents, scopeParser } from './scope.ts';
import type { Plan } from './types.ts';

export interface Decision {
  text: string;
  /** One parse per clause actually planned ("X then Y" → two). */
  parses: ParseResult[];
  plan: Plan;
}

/**
 * Text → parses → plan, without executing anything (this is the dry run). A compound command is parsed
 * clause by clause; when a clause is not understood but the whole sentence is (the split was wrong, e.g.
 * "okay, stop"), the whole sentence wins. The parser never throws, so neither does this.
 */
export async function decide(model: Parser, text: string, ctx: PlanContext): Promise<Decision> {
  // Out-of-scope intents read as "not understood" here, so a clause the model put there makes the whole
  // sentence be tried, and every caller (agent, voice, `sling parse`) reports them alike.
  const parser = scopeParser(model, outOfScopeIntents(ctx.skills));
  const clauses = splitCompound(text);
  if (clauses.length > 1) {
    const parses = await Promise.all(clauses.map((clause) => parser.parse(clause)));
    if (parses.every((p) => p.intent !== null)) {
      return { text, parses, plan: planCommand(parses, ctx) };
    }
  }
  const whole = await parser.parse(text);
  return { text, parses: [whole], plan: planCommand([whole], ctx) };
}
