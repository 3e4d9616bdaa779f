import type { Command } from 'commander';
import type { CheckCliOptions } from '../ingress/voice/coverage-cli.ts';
import type { EnrolCliOptions, PromptsCliOptions } from '../ingress/voice/enrol/cli.ts';

export function register(program: Command): void {
  const voice = program
    .command('voice')
    .description('speaker enrollment, and which sentences voice commands can say');
  voice
    .command('enrol')
    .alias('enroll')
    .argument(
      '<recordings>',
      'directory of x.wav + x.txt (what was said) pairs, or a manifest of "<wav><TAB><text>" lines',
    )
    .description(
      'adapt the acoustic model to a speaker (MAP, sphinxtrain) and write it for voice.acousticModel',
    )
    .option(
      '--out <dir>',
      'where to write the adapted model (default: voice.acousticModel, else .sling/voice/acoustic)',
    )
    .option('--base <dir>', 'acoustic model to adapt (default: Debian pocketsphinx-en-us)')
    .option('--config <file>', 'config file (default: config/sling.yaml)')
    .action(async (recordings: string, options: EnrolCliOptions) => {
      const { enrolFromCli } = await import('../ingress/voice/enrol/cli.ts');
      process.exitCode = await enrolFromCli(recordings, options, process.stdout, process.stderr);
    });
  voice
    .command('prompts')
    .description('sentences to record for `sling voice enrol`, sampled from the voice grammar')
    .option('--count <n>', 'how many (default 100: per speaker, twice the gain of 30)')
    .option('--seed <n>', 'sampling seed (default 1)')
    .option('--dir <dir>', 'write NN.txt files here instead of printing; record NN.wav beside each')
    .option('--grammar <dir>', 'voice grammar directory (default: voice.grammar in the config)')
    .option('--config <file>', 'config file (default: config/sling.yaml)')
    .action(async (options: PromptsCliOptions) => {
      const { promptsFromCli } = await import('../ingress/voice/enrol/cli.ts');
      process.exitCode = promptsFromCli(options, process.stdout, process.stderr);
    });
  voice
    .command('check')
    .argument('[sentences...]', 'sentences to check (quote each one)')
    .description(
      'which sentences the voice grammar can say (exit 1 if one cannot), and the longest part of the others',
    )
    .option('--file <file>', 'one sentence per line (# comments)')
    .option('--json', 'one JSON object per sentence')
    .option('--grammar <dir>', 'voice grammar directory (default: voice.grammar in the config)')
    .option('--config <file>', 'config file (default: config/sling.yaml)')
    .action(async (sentences: string[], options: CheckCliOptions) => {
      const { checkFromCli } = await import('../ingress/voice/coverage-cli.ts');
      process.exitCode = checkFromCli(sentences, options, process.stdout, process.stderr);
    });
}
