import { existsSync } from 'node:fs';
import type { SlingConfig } from '../../config/schema.ts';
import { decide } from '../../decide/decide.ts';
import { loadSkills } from '../../decide/load-skills.ts';
import { UnavailableParser } from '../../default-pipeline.ts';
import type { Parser } from '../../nlu/types.ts';
import { fromProjectRoot } from '../../paths.ts';

/**
 * Heard text → the normal command path: the configured NLU model and skills (`decide`), the same code a typed
 * command goes through, without executing anything. In the running agent voice goes through `Agent.command`.
 */
export type CommandResult = Record<string, unknown>;

export interface CommandPath {
  run(text: string): Promise<CommandResult>;
  close(): Promise<void>;
}

export async function loadCommandPath(config: SlingConfig, modelDir?: string): Promise<CommandPath> {
  const dir = fromProjectRoot(modelDir ?? config.nlu.model);
  let parser: Parser & { release?: () => Promise<void> };
  if (!existsSync(`${dir}/manifest.json`)) {
    parser = new UnavailableParser(`no NLU model at ${dir} (train one with "npx sling train")`);
  } else {
    const { loadBuiltinEntities } = await import('../../nlu/builtins.ts');
    const { loadParser } = await import('../../nlu/index.ts');
    await loadBuiltinEntities();
    try {
      parser = await loadParser(dir, { threads: config.nlu.threads });
    } catch (error) {
      parser = new UnavailableParser(`NLU model at ${dir} not loaded: ${(error as Error).message}`);
    }
  }
  const ctx = { world: config.world, skills: loadSkills(fromProjectRoot(config.world.skills)) };
  return {
    async run(text) {
      const { parses, plan } = await decide(parser, text, ctx);
      const first = parses[0]!;
      return {
        text,
        intent: first.intent,
        confidence: first.confidence,
        slots: first.slots,
        ...(parses.length > 1
          ? { clauses: parses.map((p) => ({ text: p.text, intent: p.intent, slots: p.slots })) }
          : {}),
        actions: plan.actions,
        reply: plan.reply,
        ...(plan.refused ? { refused: plan.refused } : {}),
        ...(first.error ? { error: first.error } : {}),
      };
    },
    async close() {
      await parser.release?.();
    },
  };
}
