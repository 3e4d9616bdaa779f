import type { Command } from 'commander';
import { fromProjectRoot } from '../paths.ts';

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'score a model on labelled jsonl: intent accuracy, slot F1, exact match, out-of-scope P/R, latency',
    )
    .requiredOption('-m, --model <dir>', 'model directory')
    .requiredOption(
      '-d, --data <file>',
      'labelled .jsonl (SNIPS format, or {text, intent, spans}; intent null = negative)',
    )
    .option('--fp32', 'score the fp32 twin graph (model.fp32.onnx) instead of the int8 model')
    .option('--json', 'machine-readable output')
    .action(async (flags: { model: string; data: string; fp32?: boolean; json?: boolean }) => {
      const { loadBuiltinEntities } = await import('../nlu/builtins.ts');
      const { evaluateModel } = await import('../nlu/evaluate.ts');
      const { ModelLoadError } = await import('../nlu/index.ts');
      const { DataError } = await import('../../models/factory/dataset.ts');
      await loadBuiltinEntities();
      try {
        const report = await evaluateModel(fromProjectRoot(flags.model), fromProjectRoot(flags.data), {
          graph: flags.fp32 ? 'fp32' : 'model',
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const pct = (v: number) => (v * 100).toFixed(2);
        const m = report.metrics;
        process.stdout.write(
          `${report.data}: ${m.count} in-scope sentences, model ${report.model} (${report.precision}, ${(report.modelBytes / 1024).toFixed(0)} KiB)\n` +
            `intent accuracy  ${pct(m.intentAccuracy)}%\n` +
            `slot F1          ${pct(m.slotF1)}  (P ${pct(m.slotPrecision)}, R ${pct(m.slotRecall)})\n` +
            `exact match      ${pct(m.exactMatch)}%\n` +
            (m.outOfScope
              ? `out-of-scope     P ${pct(m.outOfScope.precision)}%  R ${pct(m.outOfScope.recall)}%  (${m.outOfScope.negatives} negatives)\n`
              : '') +
            `latency          p50 ${report.latencyMs.p50.toFixed(3)} ms  p99 ${report.latencyMs.p99.toFixed(3)} ms\n`,
        );
      } catch (error) {
        if (error instanceof ModelLoadError || error instanceof DataError) {
          process.stderr.write(`sling eval: ${error.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw error;
      }
    });
}
