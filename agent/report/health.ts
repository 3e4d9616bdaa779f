import type { ConnectionStats } from '../ingress/connection.ts';
import type { LatencyWindow } from './latency.ts';

export interface CommandCounters {
  received: number;
  executed: number;
  duplicates: number;
  refused: number;
  failed: number;
}

export interface HealthInputs {
  startedAt: number;
  mqtt: ConnectionStats & { connected: boolean; offlineQueue: number; protocolVersion: number };
  commands: CommandCounters;
  parse: LatencyWindow;
  total: LatencyWindow;
  queues: Record<string, number>;
  sensors: { messages: number; rejected: number; keys: number };
  inFlight: number;
}

let lastCpu = process.cpuUsage();
let lastCpuAt = performance.now();

/** The `.../health` payload: process figures plus the agent's counters. */
export function healthSnapshot(inputs: HealthInputs) {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage(lastCpu);
  const now = performance.now();
  const wallMs = Math.max(1, now - lastCpuAt);
  lastCpu = process.cpuUsage();
  lastCpuAt = now;
  return {
    at: new Date().toISOString(),
    uptimeS: Math.round((Date.now() - inputs.startedAt) / 100) / 10,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
    mqtt: inputs.mqtt,
    commands: { ...inputs.commands, inFlight: inputs.inFlight },
    queues: inputs.queues,
    sensors: inputs.sensors,
    latencyMs: { parse: inputs.parse.summary(), total: inputs.total.summary() },
  };
}
