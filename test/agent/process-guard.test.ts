import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fromProjectRoot } from '../../agent/paths.ts';

// A real child process, so Node's own handling of stray rejections and exceptions is what is tested.
function runGuarded(args: string[] = []) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fromProjectRoot('test/fixtures/process/guarded-child.ts'), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise<{ code: number | null; stdout: string; logs: Record<string, unknown>[] }>((resolve) =>
    child.once('close', (code) =>
      resolve({
        code,
        stdout,
        logs: stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      }),
    ),
  );
}

describe('process guard', () => {
  it('logs a stray rejection and keeps running; an uncaught exception stops safely and exits 1', async () => {
    const run = await runGuarded();
    const rejection = run.logs.find((l) => /unhandled promise rejection/.test(String(l.msg)));
    assert.ok(rejection, 'the rejection was logged');
    assert.equal(rejection.level, 50);
    assert.match(JSON.stringify(rejection.err), /boom-rejection/);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      'alive after the rejection',
      'stop: uncaught exception',
    ]);
    const fatal = run.logs.find((l) => /uncaught exception/.test(String(l.msg)));
    assert.ok(fatal, 'the exception was logged');
    assert.equal(fatal.level, 60);
    assert.match(JSON.stringify(fatal.err), /boom-exception/);
    assert.equal(run.code, 1, 'exit code 1 so the service manager restarts the agent');
  });

  it('exits after the stop budget when the safe stop hangs', async () => {
    const run = await runGuarded(['--hanging-stop']);
    assert.match(run.stdout, /stop: uncaught exception/);
    assert.equal(run.code, 1);
  });
});
