import type { Command } from 'commander';
import { fromProjectRoot } from '../paths.ts';

interface ParseFlags {
  model?: string;
  json?: boolean;
  threads: string;
  config?: string;
  plan: boolean;
}

export function register(program: Command): void {
  program
    .command('parse')
    .argument('<text>', 'what the user said')
    .description('understand one utterance and show the action plan the skills make of it (never executes)')
    .option('-m, --model <dir>', 'model directory (default: nlu.model of the config, models/default)')
    .option('-c, --config <file>', 'config file for the model, world and skills (default: config/sling.yaml)')
    .option('--json', 'print {intent, confidence, slots, actions, reply, ...} as JSON')
    .option('--threads <n>', 'onnxruntime threads', '1')
    .option('--no-plan', 'only the parse, no skills')
    .action(async (text: string, flags: ParseFlags) => {
      const { loadBuiltinEntities } = await import('../nlu/builtins.ts');
      const { loadParser, ModelLoadError } = await import('../nlu/index.ts');
      const { loadConfig } = await import('../config/load.ts');
      const { ConfigError } = await import('../config/errors.ts');
      await loadBuiltinEntities();
      let config: Awaited<ReturnType<typeof loadConfig>>['config'];
      try {
        config = loadConfig(flags.config).config;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`sling parse: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      let parser: Awaited<ReturnType<typeof loadParser>>;
      try {
        parser = await loadParser(fromProjectRoot(flags.model ?? config.nlu.model), {
          threads: Number(flags.threads),
        });
      } catch (error) {
        if (!(error instanceof ModelLoadError)) throw error;
        process.stderr.write(`sling parse: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (!flags.plan) {
        const result = await parser.parse(text);
        await parser.release();
        if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else printParse(result, parser.manifest.threshold);
        return;
      }
      const { decide } = await import('../decide/decide.ts');
      const { loadSkills, SkillError } = await import('../decide/load-skills.ts');
      let skills: ReturnType<typeof loadSkills>;
      try {
        skills = loadSkills(fromProjectRoot(config.world.skills));
      } catch (error) {
        if (!(error instanceof SkillError)) throw error;
        process.stderr.write(`sling parse: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      // A dry run: the plan is computed and shown, nothing is executed; no live state here.
      const { parses, plan } = await decide(parser, text, { world: config.world, skills });
      await parser.release();
      const first = parses[0]!;
      if (flags.json) {
        const out = {
          ...first,
          text,
          actions: plan.actions,
          reply: plan.reply,
          ...(plan.refused ? { refused: plan.refused } : {}),
          ...(parses.length > 1 ? { clauses: parses } : {}),
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      for (const p of parses) printParse(p, parser.manifest.threshold);
      for (const a of plan.actions)
        process.stdout.write(`→ ${a.device} ${a.action} ${JSON.stringify(a.params)}\n`);
      process.stdout.write(`${plan.reply}\n`);
    });
}

function printParse(result: import('../nlu/types.ts').ParseResult, threshold: number): void {
  if (result.error) process.stdout.write(`not understood: ${result.error}\n`);
  else if (result.intent === null) {
    process.stdout.write(
      `not understood (closest: ${result.topIntent} ${result.confidence.toFixed(3)} < threshold ${threshold.toFixed(3)})\n`,
    );
  } else process.stdout.write(`${result.intent}  (${result.confidence.toFixed(3)})\n`);
  for (const s of result.slots) {
    process.stdout.write(`  ${s.name} = ${JSON.stringify(s.value)}  "${s.text}" [${s.start}, ${s.end})\n`);
  }
  process.stdout.write(`  ${result.timing.totalMs.toFixed(3)} ms\n`);
}
