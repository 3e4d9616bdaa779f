import type { Command } from 'commander';
import { envBindings } from '../config/env.ts';
import { ConfigError } from '../config/errors.ts';
import { configJsonSchema } from '../config/json-schema.ts';
import { loadConfig } from '../config/load.ts';
import { configSchema } from '../config/schema.ts';

export function register(program: Command): void {
  const config = program.command('config').description('inspect and validate configuration');
  config
    .command('check')
    .argument('[file]', 'YAML config file (default: config/sling.yaml)')
    .description('validate a config file plus SLING_* environment overrides; print every problem')
    .option('--json', 'print the effective config as JSON when valid')
    .action((file: string | undefined, options: { json?: boolean }) => {
      try {
        const loaded = loadConfig(file);
        if (options.json) process.stdout.write(`${JSON.stringify(loaded.config, null, 2)}\n`);
        else process.stdout.write(`ok: ${loaded.file ?? 'built-in defaults'} is valid\n`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 1;
      }
    });
  config
    .command('env')
    .description('list the environment variables that override config keys')
    .action(() => {
      for (const binding of envBindings(configSchema)) {
        process.stdout.write(`${binding.name.padEnd(36)} ${binding.path.join('.')}\n`);
      }
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
}
