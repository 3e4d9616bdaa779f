import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('start')
    .description('run the agent: MQTT commands in, actions and reports out (embedded broker when none runs)')
    .option('-c, --config <file>', 'YAML config file (default: config/sling.yaml)')
    .option('--no-console', 'do not read commands from the terminal')
    .action(async (options: { config?: string; console: boolean }) => {
      const { runAgent } = await import('../run-agent.ts');
      process.exitCode = await runAgent(options);
    });
}
