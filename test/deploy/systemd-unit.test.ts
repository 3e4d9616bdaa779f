import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { agentSchema } from '../../agent/ingress/config.ts';
import { projectRoot } from '../../agent/paths.ts';

const unitPath = join(projectRoot, 'deploy/systemd/sling.service');
const unitText = readFileSync(unitPath, 'utf8');
const work = mkdtempSync(join(tmpdir(), 'sling-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** `Key=value` lines of one section; repeated keys keep every value. */
function section(text: string, name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) current = line.slice(1, -1);
    else if (current === name && line && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq);
      keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return keys;
}

function verify(path: string): { status: number | null; stderr: string } {
  const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, stderr: result.stderr };
}

test('systemd-analyze verify accepts the unit without a single warning', () => {
  const result = verify(unitPath);
  assert.equal(result.status, 0);
  assert.equal(result.stderr, '');
});

test('the verifier is live: a misspelt key and a bad Restart= are reported', () => {
  const broken = join(work, 'sling.service');
  writeFileSync(broken, unitText.replace('Restart=always', 'Restart=sometimes\nWatchdogSecs=30'));
  const result = verify(broken);
  assert.match(result.stderr, /Unknown key 'WatchdogSecs'/);
  assert.match(result.stderr, /restart specifier/);
});

test('the unit matches the runtime: notify from a child, watchdog, stop bound, user and device groups', () => {
  const service = section(unitText, 'Service');
  const one = (key: string) => service.get(key)?.at(-1);
  assert.equal(one('Type'), 'notify');
  // agent/systemd.ts sends READY/WATCHDOG through the systemd-notify binary, a child process.
  assert.match(readFileSync(join(projectRoot, 'agent/systemd.ts'), 'utf8'), /systemd-notify/);
  assert.equal(one('NotifyAccess'), 'all');
  assert.ok(Number(one('WatchdogSec')) >= 10);
  const agentStopMs = agentSchema.parse({}).shutdownTimeoutMs + 1000;
  assert.ok(
    Number(one('TimeoutStopSec')) * 1000 > agentStopMs,
    'systemd must not kill a shutdown in progress',
  );
  assert.equal(one('User'), 'sling');
  assert.deepEqual(one('SupplementaryGroups')?.split(/\s+/).sort(), ['dialout', 'gpio']);
  assert.match(one('ExecStart') ?? '', /\/agent\/sling\.js start$/);
  assert.equal(one('Restart'), 'always');
  // Serial and GPIO live in /dev and /sys: nothing may hide them or make /sys read-only.
  for (const key of ['PrivateDevices', 'DevicePolicy', 'DeviceAllow'])
    assert.equal(service.get(key), undefined, key);
  assert.equal(one('ProtectKernelTunables'), 'no');
  assert.equal(one('MemoryDenyWriteExecute'), 'no', 'V8 needs W+X pages');
});
