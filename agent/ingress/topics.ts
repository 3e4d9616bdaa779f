/** Topic names of one agent: `<prefix>/<device-id>/...`. Pure, shared by the agent, `sling say` and tests. */
export interface AgentTopics {
  base: string;
  command: string;
  commandResult: string;
  status: string;
  state: string;
  events: string;
  health: string;
}

export function agentTopics(prefix: string, deviceId: string): AgentTopics {
  const base = `${prefix}/${deviceId}`;
  return {
    base,
    command: `${base}/command`,
    commandResult: `${base}/command/result`,
    status: `${base}/status`,
    state: `${base}/state`,
    events: `${base}/events`,
    health: `${base}/health`,
  };
}

export const hermesTopics = {
  nluQuery: 'hermes/nlu/query',
  intentNotRecognized: 'hermes/nlu/intentNotRecognized',
  textCaptured: 'hermes/asr/textCaptured',
  intent: (name: string) => `hermes/intent/${name}`,
} as const;
