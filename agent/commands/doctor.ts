import { type Command, Option } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'check that this machine can run Sling: Node, onnxruntime, model, broker, serial/GPIO access, disk',
    )
    .option('-c, --config <file>', 'YAML config file (default: config/sling.yaml)')
    .option('--user <name>', 'judge serial/GPIO access for this user (e.g. the service user sling)')
    .option('--json', 'print the results as JSON')
    .addOption(new Option('--root <dir>', 'filesystem root for /dev and /etc (tests)').hideHelp())
    .action(async (options: { config?: string; user?: string; json?: boolean; root?: string }) => {
      const { loadConfig } = await import('../config/load.ts');
      const { ConfigError } = await import('../config/errors.ts');
      const { runDoctor, doctorFailed, formatDoctorTable } = await import('../doctor/run.ts');
      let config: Awaited<ReturnType<typeof loadConfig>>['config'];
      try {
        config = loadConfig(options.config).config;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`doctor: the configuration is invalid:\n${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      const results = await runDoctor({ config, user: options.user, root: options.root });
      const failed = doctorFailed(results);
      if (options.json)
        process.stdout.write(`${JSON.stringify({ ok: !failed, checks: results }, null, 2)}\n`);
      else process.stdout.write(formatDoctorTable(results));
      process.exitCode = failed ? 1 : 0;
    });
}
