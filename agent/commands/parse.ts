import type { Command } from 'commander';
import { fromProjectRoot } from '../paths.ts';

export function register(program: Command): void {
  program
    .command('parse')
    .argument('<text>', 'what the user said')
    .description('understand one utterance with a trained model')
    .option('-m, --model <dir>', 'model directory', 'models/default')
    .option('--json', 'print the ParseResult as JSON')
    .option('--threads <n>', 'onnxruntime threads', '1')
    .action(async (text: string, flags: { model: string; json?: boolean; threads: string }) => {
      const { loadBuiltinEntities } = await import('../nlu/builtins.ts');
      const { loadParser, ModelLoadError } = await import('../nlu/index.ts');
      await loadBuiltinEntities();
      let parser: Awaited<ReturnType<typeof loadParser>>;
      try {
        parser = await loadParser(fromProjectRoot(flags.model), { threads: Number(flags.threads) });
      } catch (error) {
        if (!(error instanceof ModelLoadError)) throw error;
        process.stderr.write(`sling parse: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      const result = await parser.parse(text);
      await parser.release();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      if (result.error) process.stdout.write(`not understood: ${result.error}\n`);
      else if (result.intent === null) {
        process.stdout.write(
          `not understood (closest: ${result.topIntent} ${result.confidence.toFixed(3)} < threshold ${parser.manifest.threshold.toFixed(3)})\n`,
        );
      } else process.stdout.write(`${result.intent}  (${result.confidence.toFixed(3)})\n`);
      for (const s of result.slots) {
        process.stdout.write(
          `  ${s.name} = ${JSON.stringify(s.value)}  "${s.text}" [${s.start}, ${s.end})\n`,
        );
      }
      process.stdout.write(`  ${result.timing.totalMs.toFixed(3)} ms\n`);
    });
}
