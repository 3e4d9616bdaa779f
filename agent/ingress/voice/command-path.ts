import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { projectRoot } from '../../paths.ts';

/**
 * Heard text → the normal command path (parse + plan). Voice does not parse on its own: it hands the text to
 * `sling parse --json`, the same entry point typed commands use, so a spoken command and a typed one give
 * the same object. In the long-running agent the text goes through MQTT instead (see hermes.ts).
 */
export type CommandResult = Record<string, unknown>;

export interface CommandPath {
  run(text: string): Promise<CommandResult>;
}

export class CliCommandPath implements CommandPath {
  constructor(private readonly extraArgs: string[] = []) {}

  run(text: string): Promise<CommandResult> {
    const cli = resolve(projectRoot, 'agent/sling.js');
    return new Promise((done) => {
      execFile(
        process.execPath,
        [cli, 'parse', '--json', ...this.extraArgs, '--', text],
        { timeout: 60000, maxBuffer: 1 << 20 },
        (error, stdout, stderr) => {
          const line = stdout.trim().split('\n').pop() ?? '';
          try {
            if (line.startsWith('{')) {
              done(JSON.parse(line) as CommandResult);
              return;
            }
          } catch {
            // fall through to the error below
          }
          const why = /unknown command/.test(stderr)
            ? 'this build has no `sling parse` (the NLU model and planner are not installed)'
            : (stderr.trim() || error?.message || 'no output').split('\n')[0];
          done({
            text,
            intent: null,
            actions: [],
            reply: "Sorry, I can't act on that.",
            error: `parse failed: ${why}`,
          });
        },
      );
    });
  }
}
