import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { moduleExtension, projectRoot } from './paths.ts';

const pkg = JSON.parse(readFileSync(resolve(projectRoot, 'package.json'), 'utf8')) as { version: string };

/**
 * Each file in agent/commands/ exports `register(program)`. Discovering them keeps features independent;
 * command modules import heavy dependencies (onnxruntime, mqtt) inside their actions so `--help` stays fast.
 * From the build (dist/agent/commands) they are .js files.
 */
async function registerCommands(program: Command): Promise<void> {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(moduleExtension) && !f.endsWith(`.test${moduleExtension}`))
    .sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(resolve(dir, file)).href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
}

export async function buildCli(): Promise<Command> {
  const program = new Command('sling')
    .description('Offline natural-language control agent for robots and IoT devices')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError();
  await registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = (await buildCli()).exitOverride();
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
