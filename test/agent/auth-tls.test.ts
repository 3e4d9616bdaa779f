import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { Probe, startAgent, testConfig } from '../helpers/agent.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';

// Real credentials: a TLS CA, server and client certificates made with openssl, and a mosquitto password file.

function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const key = (name: string) =>
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  key('ca');
  run('req', '-x509', '-new', '-key', 'ca.key', '-days', '2', '-subj', '/CN=sling-test-ca', '-out', 'ca.crt');
  for (const [name, cn] of [
    ['server', '127.0.0.1'],
    ['client', 'sling-agent'],
  ] as const) {
    key(name);
    run('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    writeFileSync(
      join(dir, `${name}.ext`),
      name === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
    );
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  }
}

describe('broker authentication', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sling-tls-'));
    makeCertificates(dir);
    // mosquitto drops root privileges before reading these
    chmodSync(dir, 0o755);
    for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('connects over mqtts:// with a TLS client certificate the broker requires', async () => {
    const broker = await startMosquitto(
      [
        `cafile ${dir}/ca.crt`,
        `certfile ${dir}/server.crt`,
        `keyfile ${dir}/server.key`,
        'require_certificate true',
      ].join('\n'),
    );
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const tls = { ca: join(dir, 'ca.crt'), cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
    const pipeline = testPipeline();
    const agent = await startAgent(testConfig({ mqtt: { url, tls } }), pipeline);
    const probe = await Probe.connect(url, {
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
    });
    try {
      assert.equal(agent.online, true);
      await probe.subscribe(agent.topics.commandResult);
      await probe.client.publishAsync(
        agent.topics.command,
        JSON.stringify({ id: 'tls-1', text: 'turn on the lab light' }),
        { qos: 1 },
      );
      assert.equal((await probe.result(agent.topics.commandResult, 'tls-1')).status, 'ok');
    } finally {
      await probe.close();
      await agent.stop();
      await broker.stop();
    }
    const refused = await mqtt
      .connectAsync(url, { ca: readFileSync(tls.ca), reconnectPeriod: 0, connectTimeout: 3000 })
      .then((c) => c.endAsync().then(() => false))
      .catch(() => true);
    assert.equal(refused, true, 'sanity: the broker refuses clients without a certificate');
  });

  it('connects with a username and password and is refused without them', async () => {
    const passwords = join(dir, 'passwd');
    writeFileSync(passwords, '');
    execFileSync('mosquitto_passwd', ['-b', passwords, 'sling', 's3cret'], { stdio: 'ignore' });
    chmodSync(passwords, 0o644);
    const broker = await startMosquitto(`allow_anonymous false\npassword_file ${passwords}`);
    const agent = await startAgent(
      testConfig({ mqtt: { url: broker.url, username: 'sling', password: 's3cret' } }),
      testPipeline(),
    );
    try {
      assert.equal(agent.online, true);
      const anonymous = await mqtt
        .connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 3000 })
        .then((c) => c.endAsync().then(() => 'connected'))
        .catch((e: Error) => e.message);
      assert.match(anonymous, /Not authorized|Bad username or password/);
    } finally {
      await agent.stop();
      await broker.stop();
    }
  });
});
