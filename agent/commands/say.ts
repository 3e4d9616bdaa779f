import type { Command } from 'commander';
import type { SayOptions } from '../ingress/say.ts';

export function register(program: Command): void {
  program
    .command('say')
    .argument('<text...>', 'the command, e.g. "turn on the kitchen light"')
    .description('send a command to a running agent over MQTT and print the result')
    .option('-c, --config <file>', 'YAML config file (default: config/sling.yaml)')
    .option('--url <url>', 'broker URL (default: mqtt.url, else localhost:1883)')
    .option('--device <id>', 'the agent device id (default: device.id)')
    .option('--timeout <ms>', 'how long to wait for the result', '10000')
    .option('--dry-run', 'plan only, do not act')
    .option('--json', 'print the result JSON')
    .action(async (words: string[], options: SayOptions) => {
      const { say } = await import('../ingress/say.ts');
      process.exitCode = await say(words.join(' '), options);
    });
}
