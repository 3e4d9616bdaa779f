import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { envBindings } from './config/env.ts';
import { ConfigError } from './config/errors.ts';
import { configJsonSchema } from './config/json-schema.ts';
import { loadConfig } from './config/load.ts';
import { configSchema } from './config/schema.ts';
import { projectRoot } from './paths.ts';

const pkg = JSON.parse(readFileSync(resolve(projectRoot, 'package.json'), 'utf8')) as { version: string };

/** Builds the command tree; later features register their commands here. */
export function buildCli(): Command {
  const program = new Command('sling')
    .description('Offline natural-language control agent for robots and IoT devices')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError();

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

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildCli().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`sling: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
