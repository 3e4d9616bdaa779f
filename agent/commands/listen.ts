import type { Command } from 'commander';
import type { ListenFileOptions } from '../ingress/voice/listen.ts';

type ListenOptions = Omit<ListenFileOptions, 'commandPath'>;

export function register(program: Command): void {
  program
    .command('listen')
    .argument('<file>', 'WAV file (any rate, mono or stereo, 8/16/24/32-bit PCM or float)')
    .description('recognise the spoken commands in a WAV file; print what was heard, the parse and the plan')
    .option(
      '--json',
      'one line per utterance: the `sling parse --json` object plus "heard" and "asrConfidence"',
    )
    .option('--grammar <dir>', 'voice grammar directory (default: voice.grammar in the config)')
    .option('--config <file>', 'config file (default: config/sling.yaml)')
    .option('-m, --model <dir>', 'NLU model directory (default: nlu.model in the config)')
    .option('--min-confidence <n>', 'refuse recognitions below this confidence (0..1)')
    .option('--no-parse', 'only recognise; do not run the command path')
    .action(async (file: string, options: ListenOptions) => {
      const { listenToFile } = await import('../ingress/voice/listen.ts');
      process.exitCode = await listenToFile(file, options, process.stdout, process.stderr);
    });
}
