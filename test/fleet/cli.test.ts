import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../agent/paths.ts';
import { deviceConfig, startDevice, type TestDevice } from '../helpers/fleet.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

const run = promisify(execFile);
const bin = resolve(projectRoot, 'agent/sling.js');
const sling = (args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code?: number }> =>
  run('node', [bin, ...args], { cwd, encoding: 'utf8' }).catch(
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

let broker: Mosquitto;
let device: TestDevice | undefined;
before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await device?.close();
  await broker?.stop();
});

describe('sling fleet CLI', () => {
  it('keygen, signed push to a group, status and get against a running device', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sling-fleet-cli-'));
    const prefix = `cli${process.pid}`;
    const keygen = await sling(['fleet', 'keygen', '--out', 'op.key'], dir);
    assert.equal(statSync(join(dir, 'op.key')).mode & 0o777, 0o600, 'the private key is private');
    const id = /id: (\S+)/.exec(keygen.stdout)![1]!;
    const key = /key: (\S+)/.exec(keygen.stdout)![1]!;
    const trust = `fleet:\n  groups: [lab]\n  requireSigned: true\n  publicKeys:\n    - id: ${id}\n      key: ${key}\n`;
    device = await startDevice(broker.url, deviceConfig('cli-dev', prefix, trust));
    await device.report((r) => r.status === 'applied');
    writeFileSync(
      join(dir, 'operator.yaml'),
      `mqtt:\n  url: ${broker.url}\n  prefix: ${prefix}\nfleet:\n  signingKey: ${join(dir, 'op.key')}\n`,
    );
    writeFileSync(join(dir, 'lab.yaml'), 'nlu:\n  threads: 3\n');
    const push = await sling(
      ['fleet', 'push', 'lab.yaml', '--group', 'lab', '--doc-version', '12', '--config', 'operator.yaml'],
      dir,
    );
    assert.match(push.stdout, new RegExp(`published group:lab v12 signed by ${id}`));
    assert.match(push.stdout, /cli-dev\s+applied/);
    assert.equal(device.client.config.nlu.threads, 3);

    writeFileSync(join(dir, 'bad.yaml'), 'nlu:\n  threads: lots\nfleet:\n  requireSigned: false\n');
    const bad = await sling(['fleet', 'push', 'bad.yaml', '--config', 'operator.yaml', '--wait', '0'], dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.yaml: fleet\.requireSigned: only the local config file may set/);

    const status = await sling(['fleet', 'status', '--json', '--config', 'operator.yaml'], dir);
    const rows = JSON.parse(status.stdout);
    assert.deepEqual(
      rows.map((r: { device: string }) => r.device),
      ['cli-dev'],
    );
    assert.deepEqual(rows[0].config.versions, { 'group:lab': 12 });

    const get = await sling(['fleet', 'get', 'cli-dev', '--config', 'operator.yaml'], dir);
    assert.equal(JSON.parse(get.stdout).config.nlu.threads, 3);
  });
});
