/** MQTT topics of fleet operation, under the configured prefix (default `sling`). */
export function fleetTopics(prefix: string, deviceId: string) {
  return {
    fleetConfig: `${prefix}/fleet/config`,
    groupConfig: (group: string) => `${prefix}/group/${group}/config`,
    desired: `${prefix}/${deviceId}/config/desired`,
    reported: `${prefix}/${deviceId}/config/reported`,
    /** Request the effective config; the answer goes to the MQTT 5 response topic, else to `effective`. */
    get: `${prefix}/${deviceId}/config/get`,
    effective: `${prefix}/${deviceId}/config/effective`,
    fleetModel: `${prefix}/fleet/model`,
    groupModel: (group: string) => `${prefix}/group/${group}/model`,
    deviceModel: `${prefix}/${deviceId}/model/desired`,
    modelReported: `${prefix}/${deviceId}/model/reported`,
  };
}

/** Chunks are addressed by the model's sha256, so every scope (fleet, group, device) shares one copy. */
export const modelChunkTopic = (prefix: string, sha256: string, index: number | '+') =>
  `${prefix}/model/${sha256}/chunk/${index}`;
/** A receiver that misses chunks asks the sender to publish them again here. */
export const modelNeedTopic = (prefix: string, sha256: string) => `${prefix}/model/${sha256}/need`;

/** Device ids that would collide with fleet-wide topic levels. */
export const RESERVED_DEVICE_IDS = new Set(['fleet', 'group', 'model']);

/** The document target a topic carries (`fleet`, `group:<g>`, `device:<id>`), the layer it fills. */
export type LayerId = 'fleet' | `group:${string}` | `device:${string}`;

export function configTopicFor(prefix: string, target: LayerId): string {
  if (target === 'fleet') return `${prefix}/fleet/config`;
  if (target.startsWith('group:')) return `${prefix}/group/${target.slice(6)}/config`;
  return `${prefix}/${target.slice(7)}/config/desired`;
}

export function modelTopicFor(prefix: string, target: LayerId): string {
  if (target === 'fleet') return `${prefix}/fleet/model`;
  if (target.startsWith('group:')) return `${prefix}/group/${target.slice(6)}/model`;
  return `${prefix}/${target.slice(7)}/model/desired`;
}
