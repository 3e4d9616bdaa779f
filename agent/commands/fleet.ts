import type { Command } from 'commander';

interface ConnectionOptions {
  url?: string;
  config?: string;
}

interface TargetOptions {
  group?: string;
  device?: string;
}

/** Fleet commands run on an operator's machine: they need the broker URL and topic prefix of the fleet. */
async function connectFromConfig(options: ConnectionOptions) {
  const { loadConfig } = await import('../config/load.ts');
  const { default: mqtt } = await import('mqtt');
  const { config } = loadConfig(options.config);
  const url = options.url ?? config.mqtt.url ?? 'mqtt://127.0.0.1:1883';
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    connectTimeout: 5000,
    reconnectPeriod: 0,
    ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
  });
  return { client, config, url };
}

async function targetOf(options: TargetOptions) {
  if (options.group && options.device) throw new UsageError('use either --group or --device, not both');
  const { RESERVED_DEVICE_IDS } = await import('../fleet/topics.ts');
  const name = /^[A-Za-z0-9_-]{1,64}$/;
  if (options.group !== undefined) {
    if (!name.test(options.group)) throw new UsageError(`bad group name "${options.group}"`);
    return `group:${options.group}` as const;
  }
  if (options.device !== undefined) {
    if (!name.test(options.device) || RESERVED_DEVICE_IDS.has(options.device)) {
      throw new UsageError(`bad device id "${options.device}"`);
    }
    return `device:${options.device}` as const;
  }
  return 'fleet' as const;
}

class UsageError extends Error {}

async function signerFrom(keyFile: string | undefined) {
  if (!keyFile) return undefined;
  const { readFileSync } = await import('node:fs');
  const { loadPrivateKey } = await import('../fleet/signing.ts');
  const { key, id } = loadPrivateKey(readFileSync(keyFile, 'utf8'));
  return { key, keyId: id };
}

function fail(error: unknown): void {
  process.stderr.write(`sling fleet: ${(error as Error).message}\n`);
  process.exitCode = 1;
}

type Broker = Awaited<ReturnType<typeof connectFromConfig>>;

/** Runs `work` on a connection to the fleet's broker, always disconnects, reports a failure (→ false). */
async function withBroker(
  options: ConnectionOptions,
  work: (broker: Broker) => Promise<void>,
): Promise<boolean> {
  try {
    const broker = await connectFromConfig(options);
    try {
      await work(broker);
    } finally {
      await broker.client.endAsync();
    }
    return true;
  } catch (error) {
    fail(error);
    return false;
  }
}

const parseVersion = (raw: string) => {
  const version = Number(raw);
  if (!Number.isSafeInteger(version) || version <= 0) throw new UsageError(`bad version "${raw}"`);
  return version;
};

/** Collects retained reports for a short while: every device that ever reported has one on the broker. */
async function collectReports(
  client: import('mqtt').MqttClient,
  topics: string[],
  quietMs: number,
  /** `done` stops, `more` restarts the quiet timer, nothing means the message was not relevant. */
  onMessage: (topic: string, body: Record<string, unknown>) => 'done' | 'more' | undefined,
  maxMs = quietMs * 10,
  firstQuietMs = quietMs,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(hardStop);
      client.off('message', listener);
      resolve();
    };
    let quiet = setTimeout(done, firstQuietMs);
    const hardStop = setTimeout(done, maxMs);
    const listener = (topic: string, payload: Buffer) => {
      if (payload.length === 0) return;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(payload.toString());
      } catch {
        return;
      }
      const verdict = onMessage(topic, body);
      if (verdict === 'done') {
        done();
        return;
      }
      if (verdict === undefined) return;
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    };
    client.on('message', listener);
    void client.subscribeAsync(topics, { qos: 1 });
  });
}

export function register(program: Command): void {
  const fleet = program
    .command('fleet')
    .description(
      'configure a fleet of devices over MQTT: push layered config and models, see who applied what',
    );
  const connection = (cmd: Command) =>
    cmd
      .option('--url <url>', 'broker URL (default: mqtt.url from the config, else mqtt://127.0.0.1:1883)')
      .option('--config <file>', 'local config file with the broker settings and fleet.signingKey');

  fleet
    .command('keygen')
    .description("create an Ed25519 signing key; prints the public key for the devices' fleet.publicKeys")
    .option('--out <file>', 'private key file to write', 'sling-fleet.key')
    .option('--force', 'overwrite an existing key file')
    .action(async (options: { out: string; force?: boolean }) => {
      const { existsSync, writeFileSync } = await import('node:fs');
      const { generateSigningKey } = await import('../fleet/signing.ts');
      if (existsSync(options.out) && !options.force) {
        fail(new Error(`${options.out} exists; use --force to replace it`));
        return;
      }
      const key = generateSigningKey();
      writeFileSync(options.out, key.privateKeyPem, { mode: 0o600 });
      process.stdout.write(
        [
          `wrote private key ${options.out} (keep it on the operator machine only)`,
          '',
          "# add to every device's config (e.g. config/sling.yaml):",
          'fleet:',
          '  requireSigned: true',
          '  publicKeys:',
          `    - id: ${key.id}`,
          `      key: ${key.publicKey}`,
          '',
        ].join('\n'),
      );
    });

  connection(
    fleet
      .command('push')
      .argument('<file>', 'YAML or JSON file with the partial config of this layer')
      .description('publish a config document (retained) to the whole fleet, a group or one device')
      .option('--group <group>', 'target a group: sling/group/<group>/config')
      .option('--device <id>', 'target one device: sling/<id>/config/desired')
      .option(
        '--doc-version <n>',
        'document version, must increase per target (default: now in milliseconds)',
      )
      .option('--key <file>', 'Ed25519 private key (default: fleet.signingKey from the config)')
      .option('--unsigned', 'publish without a signature (devices with requireSigned reject it)')
      .option('--motion-safe', 'devices may apply it while a motion action is executing')
      .option('--wait <seconds>', 'wait this long for device reports and print them', '3'),
  ).action(
    async (
      file: string,
      options: ConnectionOptions & TargetOptions & Record<string, string | boolean | undefined>,
    ) => {
      try {
        const { readFileSync } = await import('node:fs');
        const { parse } = await import('yaml');
        const { checkLayer } = await import('../fleet/layers.ts');
        const { formatIssue } = await import('../config/errors.ts');
        const { signDocument } = await import('../fleet/signing.ts');
        const { configTopicFor } = await import('../fleet/topics.ts');
        const target = await targetOf(options);
        const body = parse(readFileSync(file, 'utf8')) ?? {};
        if (typeof body !== 'object' || Array.isArray(body))
          throw new UsageError(`${file}: must be a mapping of config sections`);
        let doc: Record<string, unknown> = {
          target,
          version: options.docVersion ? parseVersion(String(options.docVersion)) : Date.now(),
          config: body,
          issuedAt: new Date().toISOString(),
          ...(options.motionSafe ? { motionSafe: true } : {}),
        };
        // Check before publishing what every device will check: allowed keys, and validity over the defaults.
        const issues = checkLayer(body as Record<string, unknown>, file);
        if (issues.length > 0) throw new Error(issues.map(formatIssue).join('\n'));
        await withBroker(options, async ({ client, config, url }) => {
          const signer = options.unsigned
            ? undefined
            : await signerFrom((options.key as string | undefined) ?? config.fleet.signingKey);
          if (signer) doc = signDocument(doc, signer.key, signer.keyId);
          else if (!options.unsigned)
            process.stderr.write('note: no signing key (--key or fleet.signingKey): publishing unsigned\n');
          const topic = configTopicFor(config.mqtt.prefix, target);
          const waitMs = Number(options.wait ?? 3) * 1000;
          const seen = new Map<string, Record<string, unknown>>();
          // Wait up to --wait for the first report on this version, then until reports stop for a second.
          const collecting =
            waitMs > 0
              ? collectReports(
                  client,
                  [`${config.mqtt.prefix}/+/config/reported`],
                  Math.min(1000, waitMs),
                  (_t, r) => {
                    const versions = r.versions as Record<string, number> | undefined;
                    const about = r.document as { target?: string; version?: number } | undefined;
                    const relevant =
                      versions?.[target] === doc.version ||
                      (about?.target === target && about.version === doc.version);
                    if (!relevant) return undefined;
                    seen.set(String(r.device), r);
                    return target.startsWith('device:') ? 'done' : 'more';
                  },
                  waitMs,
                  waitMs,
                )
              : Promise.resolve();
          await client.publishAsync(topic, JSON.stringify(doc), { qos: 1, retain: true });
          process.stdout.write(
            `published ${target} v${doc.version}${signer ? ` signed by ${signer.keyId}` : ' unsigned'} to ${topic} on ${url}\n`,
          );
          await collecting;
          for (const r of seen.values()) {
            process.stdout.write(
              `  ${String(r.device).padEnd(24)} ${String(r.status).padEnd(12)} ${r.error ?? ''}\n`,
            );
          }
          if (waitMs > 0) process.stdout.write(`${seen.size} device(s) reported on v${doc.version}\n`);
        });
      } catch (error) {
        fail(error);
      }
    },
  );

  connection(
    fleet
      .command('push-model')
      .argument('<dir>', 'model directory (as written by `sling train`)')
      .description('deliver a model in chunks (retained) and serve re-requests; devices self-test then swap')
      .option('--group <group>', 'target a group')
      .option('--device <id>', 'target one device')
      .option(
        '--doc-version <n>',
        'manifest version, must increase per target (default: now in milliseconds)',
      )
      .option('--key <file>', 'Ed25519 private key (default: fleet.signingKey from the config)')
      .option('--chunk-size <bytes>', 'chunk size', String(64 * 1024))
      .option('--serve <seconds>', 'answer re-requests and print reports for this long', '30'),
  ).action(
    async (dir: string, options: ConnectionOptions & TargetOptions & Record<string, string | undefined>) => {
      try {
        const { publishModel, serveChunkRequests } = await import('../fleet/model/sender.ts');
        const target = await targetOf(options);
        await withBroker(options, async ({ client, config }) => {
          const signer = await signerFrom(options.key ?? config.fleet.signingKey);
          const published = await publishModel({
            mqtt: client,
            prefix: config.mqtt.prefix,
            dir,
            target,
            version: options.docVersion ? parseVersion(options.docVersion) : Date.now(),
            chunkSize: Number(options.chunkSize),
            ...(signer ? { signer } : {}),
          });
          const { manifest } = published;
          process.stdout.write(
            `published ${manifest.name} (${manifest.size} bytes, ${manifest.chunks.length} chunks) to ${target}\n  sha256 ${manifest.sha256}\n`,
          );
          const stop = await serveChunkRequests(client, config.mqtt.prefix, published, (device, missing) =>
            process.stdout.write(`  ${device} asked again for ${missing.length} chunk(s)\n`),
          );
          await collectReports(
            client,
            [`${config.mqtt.prefix}/+/model/reported`],
            Number(options.serve) * 1000,
            (_t, r) => {
              if (r.sha256 !== manifest.sha256 || r.status === 'receiving') return undefined;
              process.stdout.write(
                `  ${String(r.device).padEnd(24)} ${String(r.status).padEnd(10)} ${r.error ?? ''}\n`,
              );
              // One device: done when it answered. Fleet or group: keep serving re-requests for --serve.
              return target.startsWith('device:') ? 'done' : undefined;
            },
            Number(options.serve) * 1000,
          );
          await stop();
        });
      } catch (error) {
        fail(error);
      }
    },
  );

  connection(
    fleet
      .command('clear-model')
      .argument('<sha256>', 'the model to remove from the broker (as shown by push-model and status)')
      .description("delete a model's retained chunks from the broker once no device needs them"),
  ).action(async (sha256: string, options: ConnectionOptions) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      fail(new UsageError('expected the full sha256 (64 hex digits)'));
      return;
    }
    const { clearModelChunks } = await import('../fleet/model/sender.ts');
    await withBroker(options, async ({ client, config }) => {
      const cleared = await clearModelChunks(client, config.mqtt.prefix, sha256);
      process.stdout.write(`cleared ${cleared} retained chunk(s) of ${sha256.slice(0, 16)}…\n`);
    });
  });

  connection(
    fleet
      .command('status')
      .description('which devices applied which versions, which rejected a document and why')
      .option('--json', 'print the reports as JSON')
      .option('--quiet-ms <ms>', 'stop listening after this long without a new report', '700'),
  ).action(async (options: ConnectionOptions & { json?: boolean; quietMs: string }) => {
    const configs = new Map<string, Record<string, unknown>>();
    const models = new Map<string, Record<string, unknown>>();
    const collected = await withBroker(options, async ({ client, config }) => {
      const p = config.mqtt.prefix;
      await collectReports(
        client,
        [`${p}/+/config/reported`, `${p}/+/model/reported`],
        Number(options.quietMs),
        (topic, r) => {
          (topic.endsWith('/model/reported') ? models : configs).set(String(r.device), r);
          return 'more';
        },
      );
    });
    if (!collected) return;
    const devices = [...new Set([...configs.keys(), ...models.keys()])].sort();
    if (options.json) {
      const out = devices.map((d) => ({
        device: d,
        config: configs.get(d) ?? null,
        model: models.get(d) ?? null,
      }));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    if (devices.length === 0) {
      process.stdout.write('no device has reported yet\n');
      return;
    }
    for (const d of devices) {
      const c = configs.get(d);
      const m = models.get(d);
      const versions = Object.entries((c?.versions as Record<string, number>) ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const restart = (c?.restartRequired as string[] | undefined)?.length
        ? ` restart_required: ${(c!.restartRequired as string[]).join(',')}`
        : '';
      process.stdout.write(
        `${d.padEnd(24)} ${String(c?.status ?? '-').padEnd(12)} ${versions || '(file only)'} hash=${c?.hash ?? '-'}${restart}\n`,
      );
      if (c?.error) process.stdout.write(`${''.padEnd(24)} error: ${c.error}\n`);
      if (m) {
        process.stdout.write(
          `${''.padEnd(24)} model: ${m.status} ${m.name ?? ''} v${m.version ?? '-'}${m.error ? ` error: ${m.error}` : ''}\n`,
        );
      }
    }
  });

  connection(
    fleet
      .command('get')
      .argument('<device>', 'device id')
      .description("print a device's effective config (secrets redacted), asked over MQTT request/response")
      .option('--timeout <ms>', 'how long to wait for the answer', '5000'),
  ).action(async (device: string, options: ConnectionOptions & { timeout: string }) => {
    const { randomUUID } = await import('node:crypto');
    const { fleetTopics } = await import('../fleet/topics.ts');
    await withBroker(options, async ({ client, config }) => {
      const topics = fleetTopics(config.mqtt.prefix, device);
      const responseTopic = `${config.mqtt.prefix}/_ops/${randomUUID()}`;
      const correlation = randomUUID();
      const answer = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${device} did not answer within ${options.timeout} ms`)),
          Number(options.timeout),
        );
        client.on('message', (topic, payload, packet) => {
          if (topic !== responseTopic || packet.properties?.correlationData?.toString() !== correlation)
            return;
          clearTimeout(timer);
          resolve(payload.toString());
        });
      });
      await client.subscribeAsync(responseTopic, { qos: 1 });
      await client.publishAsync(topics.get, '', {
        qos: 1,
        properties: { responseTopic, correlationData: Buffer.from(correlation) },
      });
      process.stdout.write(`${JSON.stringify(JSON.parse(await answer), null, 2)}\n`);
    });
  });
}
