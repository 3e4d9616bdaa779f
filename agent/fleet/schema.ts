import { z } from 'zod';

/**
 * Schema metadata the fleet reads (set with zod `.meta()` anywhere in the config schema):
 * - `apply: 'live' | 'restart'` — how a change under this node takes effect; the nearest marked ancestor wins.
 *   Unmarked settings are live: `Agent.applyConfig` reapplies every section (the pipeline factory rebuilds
 *   nlu, skills, drivers…; connection settings reconnect). Mark what truly needs a restart.
 * - `motionSafe: true` — may be applied while a motion action is executing (otherwise queued until idle).
 * - `localOnly: true` — only the local file may set it; fleet documents that touch it are rejected.
 * - `secret: true` — redacted in reports and effective-config answers.
 */
export interface FleetMeta {
  apply?: 'live' | 'restart';
  motionSafe?: boolean;
  localOnly?: boolean;
  secret?: boolean;
}

const groupName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-" only (it becomes an MQTT topic level)');

export const publicKeySchema = z.strictObject({
  id: z.string().min(1).max(64).describe('key id named in signatures (`sling fleet keygen` prints one)'),
  key: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a raw Ed25519 public key in base64url (43 characters)')
    .describe('raw Ed25519 public key, base64url'),
});

export const fleetSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ apply: 'restart', localOnly: true }),
    groups: z
      .array(groupName)
      .default([])
      .describe('groups this device belongs to; the fleet or device document may assign more'),
    requireSigned: z
      .boolean()
      .default(false)
      .meta({ localOnly: true })
      .describe('reject config documents and models without a valid Ed25519 signature'),
    publicKeys: z.array(publicKeySchema).default([]).meta({ localOnly: true }),
    stateDir: z
      .string()
      .default('.sling/fleet')
      .meta({ apply: 'restart', localOnly: true })
      .describe(
        'where the last-known-good config and delivered models are kept (relative to the project root)',
      ),
    signingKey: z
      .string()
      .optional()
      .meta({ localOnly: true })
      .describe('private key file used by `sling fleet push` (operator machines only)'),
  })
  .prefault({})
  .meta({ apply: 'live', motionSafe: true });

export type FleetSettings = z.infer<typeof fleetSchema>;
