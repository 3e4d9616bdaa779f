import { z } from 'zod';
import { driversSchema } from '../../drivers/schema.ts';
import { worldSchema } from '../decide/world.ts';
import { fleetSchema } from '../fleet/schema.ts';
import { agentSchema, sensorsSchema } from '../ingress/config.ts';
import { voiceSchema } from '../ingress/voice/schema.ts';
import { safetySchema } from '../safety/schema.ts';

// One schema per section keeps each subsystem's settings next to each other; the root composes them.
// Every object is strict so a misspelt key is an error instead of a silently ignored setting.

export const deviceSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-" only (it becomes an MQTT topic level)')
      .default('sling-01')
      .meta({ apply: 'restart' }),
    name: z.string().max(200).optional(),
  })
  .prefault({});

export const tlsSchema = z.strictObject({
  ca: z.string().optional().describe('path to a PEM CA bundle'),
  cert: z.string().optional().describe('path to a PEM client certificate'),
  key: z.string().optional().describe('path to the PEM private key of the client certificate'),
  rejectUnauthorized: z.boolean().default(true),
});

export const mqttSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^mqtts?:\/\/.+/, 'must start with mqtt:// or mqtts://')
      .optional()
      .describe('broker URL; unset = localhost:1883 if it answers, else the embedded broker'),
    prefix: z
      .string()
      .regex(/^[^#+]+$/, 'must not contain MQTT wildcards')
      .default('sling')
      .meta({ apply: 'restart' }),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    clientId: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional().meta({ secret: true }),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    tls: tlsSchema.optional(),
    embedded: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(1883),
      })
      .prefault({})
      .meta({ apply: 'restart' }),
  })
  .prefault({});

export const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    pretty: z.enum(['auto', 'always', 'never']).default('auto'),
  })
  .prefault({})
  .meta({ motionSafe: true });

export const nluSchema = z
  .strictObject({
    model: z.string().default('models/default').describe('model directory (relative to the project root)'),
    threads: z.number().int().min(1).max(16).default(1),
    maxInputChars: z.number().int().min(1).max(10000).default(256),
  })
  .prefault({});

export const configSchema = z.strictObject({
  device: deviceSchema,
  mqtt: mqttSchema,
  log: logSchema,
  nlu: nluSchema,
  drivers: driversSchema,
  safety: safetySchema,
  world: worldSchema,
  agent: agentSchema,
  sensors: sensorsSchema,
  fleet: fleetSchema,
  voice: voiceSchema,
});

export type SlingConfig = z.infer<typeof configSchema>;
export type SlingConfigInput = z.input<typeof configSchema>;
