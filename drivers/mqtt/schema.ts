import { z } from 'zod';

const topic = z
  .string()
  .min(1)
  .regex(/^[^#+]+$/, 'must not contain MQTT wildcards');

export const mqttActionSchema = z.strictObject({
  topic,
  payload: z
    .union([z.string(), z.record(z.string(), z.unknown())])
    .describe(
      'string or JSON object; {{param | filter}} placeholders, e.g. "{{brightness_pct | scale(0,100,0,254) | round}}"',
    ),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
  retain: z.boolean().default(false),
});

export const mqttDeviceSchema = z.strictObject({
  actions: z.record(z.string(), mqttActionSchema).describe('action name → what to publish'),
  state: z
    .strictObject({
      topic: z.string().min(1).describe('topic the device reports its state on (wildcards allowed)'),
      fields: z
        .record(z.string(), z.string())
        .describe(
          'state field → expression on the payload, e.g. on: "state | eq(\'ON\')"; "." is the whole payload',
        ),
    })
    .optional(),
  safe: z
    .string()
    .optional()
    .describe('action to run on e-stop / deadman (e.g. off for a plug powering a machine)'),
});

/** Other MQTT devices (Zigbee2MQTT, Tasmota, ESPHome...) driven over the agent's MQTT connection. */
export const mqttDriverSchema = z.strictObject({
  kind: z.literal('mqtt'),
  publishTimeoutMs: z
    .number()
    .int()
    .min(10)
    .default(3000)
    .describe('a publish not acknowledged by then is an error'),
  devices: z
    .record(z.string(), mqttDeviceSchema)
    .describe('device name (e.g. light.hall) → topics and templates'),
});

export type MqttDriverConfig = z.infer<typeof mqttDriverSchema>;
export type MqttDeviceConfig = z.infer<typeof mqttDeviceSchema>;
