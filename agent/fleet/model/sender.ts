import type { KeyObject } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import { signDocument } from '../signing.ts';
import { type LayerId, modelChunkTopic, modelNeedTopic, modelTopicFor } from '../topics.ts';
import { buildManifest, chunkOf, type ModelManifest } from './manifest.ts';
import { packDirectory } from './pack.ts';

export interface PublishModelOptions {
  mqtt: MqttClient;
  prefix: string;
  dir: string;
  target: LayerId;
  version: number;
  chunkSize?: number;
  signer?: { key: KeyObject; keyId: string };
}

export interface PublishedModel {
  manifest: ModelManifest;
  blob: Buffer;
}

/**
 * Publishes a model directory: every chunk retained under its content address, then the (signed) manifest
 * retained on the target's model topic. Chunks go first so a device that reads the manifest finds them all.
 */
export async function publishModel(options: PublishModelOptions): Promise<PublishedModel> {
  const { blob, files } = packDirectory(options.dir);
  let manifest = buildManifest(blob, files, {
    target: options.target,
    version: options.version,
    name: basename(resolve(options.dir)),
    chunkSize: options.chunkSize ?? 64 * 1024,
  });
  if (options.signer) {
    manifest = signDocument(
      manifest as unknown as Record<string, unknown>,
      options.signer.key,
      options.signer.keyId,
    ) as unknown as ModelManifest;
  }
  await Promise.all(
    manifest.chunks.map((_, i) =>
      options.mqtt.publishAsync(
        modelChunkTopic(options.prefix, manifest.sha256, i),
        chunkOf(blob, manifest, i),
        {
          qos: 1,
          retain: true,
        },
      ),
    ),
  );
  await options.mqtt.publishAsync(modelTopicFor(options.prefix, options.target), JSON.stringify(manifest), {
    qos: 1,
    retain: true,
  });
  return { manifest, blob };
}

/**
 * Answers devices that ask for chunks again (a corrupt or lost chunk, a broker that forgot retained
 * messages). Requests are gathered for a moment so one republish serves many devices. Returns a stop function.
 */
export async function serveChunkRequests(
  mqtt: MqttClient,
  prefix: string,
  published: PublishedModel,
  onRequest?: (device: string, missing: number[]) => void,
  /** A chunk republished this recently is not sent again: one republish reaches every device. */
  minIntervalMs = 2000,
): Promise<() => Promise<void>> {
  const { manifest, blob } = published;
  const topic = modelNeedTopic(prefix, manifest.sha256);
  const wanted = new Set<number>();
  const lastSent = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = Date.now();
    for (const i of wanted) {
      if (now - (lastSent.get(i) ?? Number.NEGATIVE_INFINITY) < minIntervalMs) continue;
      lastSent.set(i, now);
      mqtt.publish(modelChunkTopic(prefix, manifest.sha256, i), chunkOf(blob, manifest, i), {
        qos: 1,
        retain: true,
      });
    }
    wanted.clear();
  };
  const listener = (t: string, payload: Buffer) => {
    if (t !== topic) return;
    try {
      const request = JSON.parse(payload.toString()) as { device?: unknown; missing?: unknown };
      const missing = Array.isArray(request.missing)
        ? request.missing.filter(
            (i): i is number => Number.isInteger(i) && i >= 0 && i < manifest.chunks.length,
          )
        : [];
      onRequest?.(String(request.device), missing);
      for (const i of missing) wanted.add(i);
      timer ??= setTimeout(flush, 20);
    } catch {
      // a malformed request is ignored: the device will ask again
    }
  };
  mqtt.on('message', listener);
  await mqtt.subscribeAsync(topic, { qos: 1 });
  return async () => {
    mqtt.off('message', listener);
    clearTimeout(timer);
    if (mqtt.connected) await mqtt.unsubscribeAsync(topic);
  };
}

/**
 * Removes a model's retained chunks from the broker (they stay until cleared: a device that boots later
 * still gets them). Clears whatever is retained under the model's address; returns how many.
 */
export async function clearModelChunks(
  mqtt: MqttClient,
  prefix: string,
  sha256: string,
  quietMs = 500,
): Promise<number> {
  const pattern = modelChunkTopic(prefix, sha256, '+');
  const found = new Set<string>();
  await new Promise<void>((done) => {
    let timer = setTimeout(finish, quietMs);
    function finish() {
      mqtt.off('message', listener);
      done();
    }
    const listener = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
      if (!topic.startsWith(pattern.slice(0, -1)) || payload.length === 0 || !packet.retain) return;
      found.add(topic);
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    mqtt.on('message', listener);
    void mqtt.subscribeAsync(pattern, { qos: 0 });
  });
  await mqtt.unsubscribeAsync(pattern);
  await Promise.all([...found].map((topic) => mqtt.publishAsync(topic, '', { qos: 1, retain: true })));
  return found.size;
}
