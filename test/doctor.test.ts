import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../agent/config/schema.ts';
import {
  checkBroker,
  checkDisk,
  checkModel,
  checkNode,
  diskVerdict,
  requiredFreeBytes,
} from '../agent/doctor/checks.ts';
import { checkDevices, lookupAccount } from '../agent/doctor/devices.ts';
import { canReadWrite, parseGroupFile, permissionFix } from '../agent/doctor/permissions.ts';
import { projectRoot } from '../agent/paths.ts';
import { buildModel } from '../models/factory/build.ts';
import { type Mosquitto, startMosquitto } from './helpers/mosquitto.ts';
import { freePort } from './helpers/ports.ts';
import { runProcess } from './helpers/process.ts';

const work = mkdtempSync(join(tmpdir(), 'sling-doctor-'));
after(() => rmSync(work, { recursive: true, force: true }));

const miniSpec = join(work, 'mini.yaml');
writeFileSync(
  miniSpec,
  [
    'intents:',
    '  light.on:',
    '    examples: [turn on the light, switch the light on, lights on]',
    '  light.off:',
    '    examples: [turn off the light, switch the light off, lights off]',
  ].join('\n'),
);
const trainedModel = join(work, 'model-trained');
// A real (tiny) model from the factory, trained in about a second: doctor loads it as the agent does.
buildModel({
  source: miniSpec,
  out: trainedModel,
  seed: 1,
  hyper: { epochs: 2, dim: 8, hidden: 8 },
  features: { buckets: 512 },
});

/** A copy of the trained model directory that a test may damage. */
function modelDir(name: string): string {
  const dir = join(work, name);
  cpSync(trainedModel, dir, { recursive: true });
  return dir;
}

/**
 * A fake root with /dev and /etc: serial devices belong to group `dialout`, as on a Pi, and the service user
 * `sling` (uid 4242) is or is not a member.
 */
function fakeRoot(name: string, slingInDialout: boolean): string {
  const root = join(work, name);
  mkdirSync(join(root, 'dev'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  // As root (CI), hand the devices to gid 20 as Debian does; otherwise our own gid plays dialout.
  const gid = process.getuid?.() === 0 ? 20 : statSync(root).gid;
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nsling:x:4242:4242::/opt/sling:/usr/sbin/nologin\n',
  );
  writeFileSync(
    join(root, 'etc/group'),
    `root:x:0:\ndialout:x:${gid}:${slingInDialout ? 'pi,sling' : 'pi'}\nsling:x:4242:\ngpio:x:4343:sling\n`,
  );
  for (const dev of ['ttyUSB0', 'ttyAMA0']) {
    writeFileSync(join(root, 'dev', dev), '');
    chmodSync(join(root, 'dev', dev), 0o660);
    if (gid === 20) chownSync(join(root, 'dev', dev), 0, 20);
  }
  symlinkSync('/dev/ttyAMA0', join(root, 'dev/serial0')); // absolute, as on Raspberry Pi OS
  writeFileSync(join(root, 'dev/ttyS0'), ''); // legacy PC UART names are not listed
  writeFileSync(join(root, 'dev/gpiochip0'), '');
  chmodSync(join(root, 'dev/gpiochip0'), 0o600); // kernel default without a udev rule: root only
  return root;
}

describe('permissions', () => {
  const sling = { name: 'sling', uid: 4242, gids: [4242, 20] };
  test('owner, group and other bits decide; root may always', () => {
    assert.equal(canReadWrite({ mode: 0o20660, uid: 0, gid: 20 }, sling), true);
    assert.equal(canReadWrite({ mode: 0o20660, uid: 0, gid: 997 }, sling), false);
    assert.equal(canReadWrite({ mode: 0o20640, uid: 0, gid: 20 }, sling), false);
    assert.equal(canReadWrite({ mode: 0o20600, uid: 4242, gid: 0 }, sling), true);
    assert.equal(canReadWrite({ mode: 0o20666, uid: 0, gid: 0 }, sling), true);
    assert.equal(canReadWrite({ mode: 0o20600, uid: 0, gid: 0 }, { name: 'root', uid: 0, gids: [0] }), true);
  });
  test('fix: join the group when it may read/write, else a udev rule', () => {
    const groups = parseGroupFile('root:x:0:\ndialout:x:20:pi\n');
    const join20 = permissionFix('serial', { mode: 0o20660, uid: 0, gid: 20 }, sling, groups);
    assert.match(join20, /^sudo usermod -aG dialout sling/);
    const udev = permissionFix('gpio', { mode: 0o20600, uid: 0, gid: 0 }, sling, groups);
    assert.match(udev, /sudo groupadd --system gpio/);
    assert.match(udev, /SUBSYSTEM=="gpio", KERNEL=="gpiochip\[0-9\]\*", GROUP="gpio", MODE="0660"/);
    assert.match(udev, /udevadm trigger && sudo usermod -aG gpio sling$/);
  });
});

describe('serial ports and GPIO chips in a fake /dev', () => {
  test('a member of dialout passes serial; a root-only gpiochip fails with the udev fix', () => {
    const root = fakeRoot('root-member', true);
    const sling = lookupAccount(root, 'sling');
    assert.ok(sling);
    const serial = checkDevices(root, 'serial', sling);
    assert.equal(serial.status, 'pass', serial.detail);
    assert.match(serial.detail, /\/dev\/serial0, \/dev\/ttyAMA0, \/dev\/ttyUSB0/);
    assert.doesNotMatch(serial.detail, /ttyS0/);
    const gpio = checkDevices(root, 'gpio', sling);
    assert.equal(gpio.status, 'fail');
    assert.match(gpio.detail, /\/dev\/gpiochip0 \(group \w+, mode 600\)/);
    assert.match(gpio.fix ?? '', /60-sling-gpio\.rules/);
  });
  test('a user outside dialout fails serial with the usermod fix', () => {
    const root = fakeRoot('root-outsider', false);
    const sling = lookupAccount(root, 'sling');
    assert.ok(sling);
    const serial = checkDevices(root, 'serial', sling);
    assert.equal(serial.status, 'fail');
    assert.match(serial.detail, /sling cannot read\/write \/dev\/serial0 \(group dialout, mode 660\)/);
    assert.match(serial.fix ?? '', /^sudo usermod -aG dialout sling/);
  });
  test('no devices at all is a warning, not a failure', () => {
    const root = join(work, 'empty-root');
    mkdirSync(join(root, 'dev'), { recursive: true });
    const result = checkDevices(root, 'gpio', { name: 'x', uid: 1000, gids: [] });
    assert.equal(result.status, 'warn');
  });
});

describe('node, model and disk', () => {
  test('Node 20+ on x64/arm64 passes; older Node or 32-bit ARM fails', () => {
    assert.equal(checkNode('v20.20.2', 'arm64').status, 'pass');
    assert.equal(checkNode('v22.1.0', 'x64').status, 'pass');
    assert.equal(checkNode('v18.19.1', 'arm64').status, 'fail');
    const arm32 = checkNode('v20.20.2', 'arm');
    assert.equal(arm32.status, 'fail');
    assert.match(arm32.fix ?? '', /64-bit/);
  });
  test('a model matching its manifest loads in onnxruntime and parses', async () => {
    const result = await checkModel(modelDir('model-good'));
    assert.equal(result.status, 'pass', result.detail);
    assert.match(result.detail, /sha256 [0-9a-f]{12}… ok, \d+ KiB, 2 intents/);
  });
  test('a truncated or altered graph, a missing manifest or a missing directory fails', async () => {
    const truncated = modelDir('model-truncated');
    const onnx = join(truncated, 'model.onnx');
    writeFileSync(onnx, readFileSync(onnx).subarray(0, 40));
    assert.match(
      (await checkModel(truncated)).detail,
      /40 bytes, manifest says \d+ \(truncated or replaced\)/,
    );
    const altered = modelDir('model-altered');
    const bytes = readFileSync(join(altered, 'model.onnx'));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    writeFileSync(join(altered, 'model.onnx'), bytes);
    assert.match((await checkModel(altered)).detail, /does not match the manifest/);
    const noManifest = modelDir('model-no-manifest');
    rmSync(join(noManifest, 'manifest.json'));
    const result = await checkModel(noManifest);
    assert.equal(result.status, 'fail');
    assert.match(result.detail, /cannot read the model manifest/);
    const missing = await checkModel(join(work, 'nope'));
    assert.equal(missing.status, 'fail');
    assert.match(missing.detail, /does not exist/);
  });
  test('free disk must hold a model update beside the current model', () => {
    assert.equal(requiredFreeBytes(10 * 2 ** 20), 120 * 2 ** 20);
    assert.equal(diskVerdict(119 * 2 ** 20, 10 * 2 ** 20, '/opt').status, 'fail');
    assert.equal(diskVerdict(121 * 2 ** 20, 10 * 2 ** 20, '/opt').status, 'pass');
    const real = checkDisk(join(work, 'no-model'), join(work, 'not-yet', 'fleet'));
    assert.equal(real.status, 'pass');
    assert.match(real.detail, new RegExp(`free on ${work} \\(update needs 100 MiB\\)`));
  });
});

describe('broker reachability against a real mosquitto', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker.stop());
  const mqtt = (url: string) => configSchema.parse({ mqtt: { url } }).mqtt;
  test('a running broker passes; a configured broker that is down fails', async () => {
    const up = await checkBroker(mqtt(broker.url));
    assert.equal(up.status, 'pass', up.detail);
    const downUrl = `mqtt://127.0.0.1:${await freePort()}`;
    const down = await checkBroker(mqtt(downUrl), 2000);
    assert.equal(down.status, 'fail');
    assert.match(down.detail, /ECONNREFUSED/);
  });
  test('MQTT-level refusal (bad credentials) fails even though TCP connects', async () => {
    const strict = await startMosquitto('allow_anonymous false\n');
    try {
      const result = await checkBroker(mqtt(strict.url), 2000);
      assert.equal(result.status, 'fail');
    } finally {
      await strict.stop();
    }
  });
});

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess(process.execPath, [join(projectRoot, 'agent/sling.js'), ...args], { cwd: work });
}

describe('sling doctor (CLI)', () => {
  test('exit 0 when everything required passes, exit 1 with a table and fixes when the broker is down', async () => {
    const root = fakeRoot('root-cli', true);
    const model = modelDir('model-cli');
    const broker = await startMosquitto();
    try {
      const config = join(work, 'cli.yaml');
      writeFileSync(config, `mqtt:\n  url: ${broker.url}\nnlu:\n  model: ${model}\n`);
      chmodSync(join(root, 'dev/gpiochip0'), 0o666); // root-only GPIO fails; covered above
      const pass = await runCli(['doctor', '--json', '--config', config, '--root', root, '--user', 'sling']);
      assert.equal(pass.code, 0, pass.stdout + pass.stderr);
      assert.equal((JSON.parse(pass.stdout) as { ok: boolean }).ok, true);

      await broker.kill();
      const down = await runCli(['doctor', '--config', config, '--root', root, '--user', 'sling']);
      assert.equal(down.code, 1);
      assert.match(down.stdout, /broker\s+FAIL\s+cannot connect to mqtt:\/\/127\.0\.0\.1:\d+/);
      assert.match(down.stdout, /model\s+PASS/);
      assert.match(down.stdout, /how to fix:\n/);
      assert.match(down.stdout, /doctor: 1 check\(s\) failed/);
    } finally {
      await broker.stop();
    }
  });
  test('an unknown --user fails with the useradd fix', async () => {
    const root = fakeRoot('root-nouser', true);
    const result = await runCli(['doctor', '--json', '--root', root, '--user', 'ghost']);
    const report = JSON.parse(result.stdout) as { checks: { check: string; status: string; fix?: string }[] };
    const user = report.checks.find((c) => c.check === 'user');
    assert.equal(user?.status, 'fail');
    assert.match(user?.fix ?? '', /useradd --system/);
    assert.equal(result.code, 1);
  });
});
