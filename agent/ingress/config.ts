import { z } from 'zod';

// The agent's own settings (topics, Hermes, limits, reliability, sensors). Broker settings stay in `mqtt`.

const sensorSubscriptionSchema = z.strictObject({
  topic: z
    .string()
    .min(1)
    .describe(
      'MQTT pattern; name wildcards to reuse them in `key`, e.g. home/+room/temperature or zigbee/#rest',
    ),
  key: z
    .string()
    .regex(/^[A-Za-z0-9_.{}-]+$/, 'dotted key; `{name}` inserts a named wildcard level')
    .describe('state key, e.g. sensors.temperature.{room}'),
  field: z
    .string()
    .optional()
    .describe(
      'dotted path into a JSON payload, e.g. temperature or data.temp; unset: the payload is a number',
    ),
  staleAfterS: z.number().positive().optional().describe('mark values stale after this age'),
});

export const sensorsSchema = z
  .strictObject({
    subscriptions: z.array(sensorSubscriptionSchema).default([]),
    maxKeys: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe('wildcards can create keys; beyond this many new keys are dropped'),
  })
  .prefault({});

export const agentSchema = z
  .strictObject({
    console: z.enum(['auto', 'on', 'off']).default('auto').describe('read commands from a terminal'),
    hermes: z
      .strictObject({
        enabled: z.boolean().default(true),
        siteId: z.string().default('default'),
      })
      .prefault({}),
    maxPayloadBytes: z.number().int().min(64).max(1_048_576).default(4096),
    rateLimit: z
      .strictObject({
        perSecond: z.number().positive().default(50).describe('sustained commands per second per source'),
        burst: z.number().int().min(1).default(100),
      })
      .prefault({}),
    allow: z
      .strictObject({
        topics: z
          .array(z.string())
          .optional()
          .describe('MQTT patterns that may command; unset: the agent command topic and Hermes topics'),
        clients: z
          .array(z.string())
          .optional()
          .describe(
            'sources (JSON "source" or MQTT 5 user property "client") allowed to command; unset: any',
          ),
      })
      .prefault({}),
    dedupSize: z.number().int().min(1).max(1_000_000).default(1000).describe('remembered command ids'),
    offlineQueue: z.number().int().min(0).max(100_000).default(500).describe('results kept while offline'),
    reconnect: z
      .strictObject({
        minMs: z.number().int().min(10).default(250),
        maxMs: z.number().int().min(100).default(30_000),
        livenessMs: z
          .number()
          .int()
          .min(500)
          .default(10_000)
          .describe('recreate the client if stuck this long'),
      })
      .prefault({}),
    stateThrottleMs: z.number().int().min(0).default(250),
    healthIntervalS: z.number().min(0).default(30).describe('0 disables the periodic health topic'),
    shutdownTimeoutMs: z.number().int().min(100).default(5000),
  })
  .prefault({});

export type AgentSettings = z.infer<typeof agentSchema>;
export type SensorSettings = z.infer<typeof sensorsSchema>;
export type SensorSubscription = z.infer<typeof sensorSubscriptionSchema>;
