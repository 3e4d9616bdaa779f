import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { fromProjectRoot } from '../paths.ts';

export function register(program: Command): void {
  program
    .command('predict')
    .description('jsonl in ({"text"} per line) → jsonl out (intent, understood, confidence, tags, slots)')
    .requiredOption('-m, --model <dir>', 'model directory')
    .option('--fp32', 'run the fp32 twin graph (model.fp32.onnx) instead of the int8 model')
    .action(async (flags: { model: string; fp32?: boolean }) => {
      const { loadBuiltinEntities } = await import('../nlu/builtins.ts');
      const { loadParser, ModelLoadError } = await import('../nlu/index.ts');
      await loadBuiltinEntities();
      let parser: Awaited<ReturnType<typeof loadParser>>;
      try {
        parser = await loadParser(fromProjectRoot(flags.model), { graph: flags.fp32 ? 'fp32' : 'model' });
      } catch (error) {
        if (!(error instanceof ModelLoadError)) throw error;
        process.stderr.write(`sling predict: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      let lineNo = 0;
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        lineNo++;
        if (line.trim() === '') continue;
        let text: unknown;
        try {
          text = (JSON.parse(line) as { text?: unknown }).text;
        } catch {
          text = undefined;
        }
        if (typeof text !== 'string') {
          process.stdout.write(`${JSON.stringify({ error: `line ${lineNo}: expected {"text": "..."}` })}\n`);
          continue;
        }
        const { result, tags } = await parser.parseDetailed(text);
        const out: Record<string, unknown> = {
          intent: result.topIntent,
          understood: result.intent !== null,
          confidence: result.confidence,
          tags,
          slots: result.slots,
        };
        if (result.error) out.error = result.error;
        process.stdout.write(`${JSON.stringify(out)}\n`);
      }
      await parser.release();
    });
}
