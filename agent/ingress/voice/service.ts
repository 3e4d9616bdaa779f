import type { Logger } from 'pino';
import type { Agent } from '../../agent.ts';
import { fromProjectRoot } from '../../paths.ts';
import type { CommandResult } from '../../report/result.ts';
import { VoiceEngine } from './engine.ts';
import { HermesVoice, type VoiceCommandHandler } from './hermes.ts';

/**
 * Voice in the running agent (`sling start` with `voice.enabled`). Heard commands reach the agent's normal
 * path: when the agent takes `hermes/asr/textCaptured` itself (agent.hermes.enabled) that message is the
 * command and its result is matched by text; otherwise the command goes through `Agent.command`. Either way
 * the reply is spoken. A failure to start voice is logged and the agent runs on without it.
 */
export interface VoiceService {
  stop(): Promise<void>;
}

export async function startVoice(agent: Agent, log: Logger): Promise<VoiceService | undefined> {
  const config = agent.currentConfig;
  if (!config.voice.enabled) return undefined;
  let engine: VoiceEngine;
  try {
    engine = await VoiceEngine.open({
      grammarDir: fromProjectRoot(config.voice.grammar),
      minConfidence: config.voice.minConfidence,
      segmenter: config.voice.vad,
    });
  } catch (error) {
    log.error({ reason: (error as Error).message }, 'voice disabled: it could not start');
    return undefined;
  }
  const mqtt = await import('mqtt');
  const client = await mqtt.connectAsync(agent.brokerUrl, {
    clientId: `${config.device.id}-voice`,
    ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
  });
  const viaTextCaptured = config.agent.hermes.enabled;
  const onCommand: VoiceCommandHandler = viaTextCaptured
    ? (text) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => finish(undefined), 30000);
          const onResult = (result: CommandResult) => {
            if (result.text === text) finish({ reply: result.reply });
          };
          const finish = (answer: { reply?: string } | undefined) => {
            clearTimeout(timer);
            agent.off('result', onResult);
            resolve(answer);
          };
          agent.on('result', onResult);
        })
    : async (text) => ({ reply: (await agent.command({ text, source: 'voice' })).reply });
  const voice = new HermesVoice({
    client,
    engine,
    config: config.voice,
    onCommand,
    onError: (error) => log.warn({ reason: error.message }, 'voice: input ignored'),
  });
  await voice.start();
  log.info(
    { grammar: config.voice.grammar, recognizer: engine.recognizer.name },
    'voice: listening on Hermes audio',
  );
  return {
    async stop() {
      await voice.stop();
      await client.endAsync();
      await engine.close();
    },
  };
}
