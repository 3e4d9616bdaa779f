import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Agent } from '../../agent.ts';
import { fromProjectRoot } from '../../paths.ts';
import type { CommandResult } from '../../report/result.ts';
import { clauseIntents } from './confirm.ts';
import { VoiceDialogue } from './dialogue.ts';
import { checkVoice } from './doctor.ts';
import { type Heard, VoiceEngine, voiceEngineOptions } from './engine.ts';
import { SelfAdaptation } from './enrol/self-adapt.ts';
import { HermesVoice, type VoiceCommandHandler } from './hermes.ts';
import { Microphone } from './mic.ts';
import { DEFAULT_HMM } from './pocketsphinx.ts';
import type { VoiceConfig } from './schema.ts';

/**
 * Voice in the running agent (`sling start` with `voice.enabled`). Heard commands reach the agent's normal
 * path: when the agent takes `hermes/asr/textCaptured` itself (agent.hermes.enabled) that message is the
 * command and its result is matched by text; otherwise the command goes through `Agent.command`. Either way
 * the reply is spoken. A failure to start voice is logged and the agent runs on without it.
 */
export interface VoiceService {
  stop(): Promise<void>;
}

/**
 * Voice for `sling start`: started now, and restarted when the `voice` config changes (a fleet document), so the
 * change is live. A voice config this machine could not run (its grammar or packages missing) is refused before
 * anything changes, as `sling doctor` would fail it.
 */
export async function startVoiceFollowingConfig(agent: Agent, log: Logger): Promise<VoiceService> {
  let voice = await startVoice(agent, log);
  agent.onSectionChange('voice', {
    check: (next) => {
      const ready = checkVoice(next);
      return ready.status === 'fail' ? ready.detail : undefined;
    },
    apply: async () => {
      await voice?.stop();
      voice = await startVoice(agent, log);
      log.info(
        { enabled: agent.currentConfig.voice.enabled, running: voice !== undefined },
        'voice: restarted with the new configuration',
      );
    },
  });
  return {
    async stop() {
      await voice?.stop();
    },
  };
}

export async function startVoice(agent: Agent, log: Logger): Promise<VoiceService | undefined> {
  const config = agent.currentConfig;
  if (!config.voice.enabled) return undefined;
  let engine: VoiceEngine | undefined;
  const adaptation = openAdaptation(config.voice, log, async (dir) => engine?.useAcousticModel(dir));
  try {
    const adapted = adaptation?.modelDir;
    engine = await VoiceEngine.open(
      voiceEngineOptions(config.voice, adapted ? { acousticModel: adapted } : {}),
    );
  } catch (error) {
    log.error({ reason: (error as Error).message }, 'voice disabled: it could not start');
    return undefined;
  }
  let dialogue: VoiceDialogue | undefined;
  try {
    dialogue = await openDialogue(agent, log, (siteId, text) =>
      voice.say(text, siteId, randomUUID(), '').catch(() => {}),
    );
  } catch (error) {
    // Without its confirmation, motion by voice would run unasked: no voice rather than voice without it.
    log.error(
      { reason: (error as Error).message },
      'voice disabled: wake word / confirmation could not start',
    );
    await engine.close();
    return undefined;
  }
  const mqtt = await import('mqtt');
  // Not awaited: like the agent, voice starts while the broker is down (a board booting) and connects when it
  // comes; mqtt.js retries. Its errors are logged (an 'error' event without a listener would crash the agent).
  const client = mqtt.connect(agent.brokerUrl, {
    clientId: `${config.device.id}-voice`,
    ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
  });
  client.on('error', (error) => log.warn({ reason: error.message }, 'voice: MQTT connection'));
  const viaTextCaptured = config.agent.hermes.enabled;
  const onCommand: VoiceCommandHandler = viaTextCaptured
    ? (text) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => finish(undefined), 30000);
          timer.unref();
          // a dry run of the same text from elsewhere is not this command's answer
          const onResult = (result: CommandResult) => {
            if (result.text === text && !result.dryRun) finish({ reply: result.reply });
          };
          const finish = (answer: { reply?: string } | undefined) => {
            clearTimeout(timer);
            agent.off('result', onResult);
            resolve(answer);
          };
          agent.on('result', onResult);
        })
    : async (text) => ({ reply: (await agent.command({ text, source: 'voice' })).reply });
  const listening = engine; // narrowed, for the closures below
  const voice = new HermesVoice({
    client,
    engine,
    ...(adaptation
      ? {
          onAccepted: (heard: Heard) => {
            const audio = listening.rawAudio(heard.utterance);
            if (audio) adaptation.offer(heard.recognition, audio);
          },
        }
      : {}),
    config: config.voice,
    onCommand,
    onError: (error) => log.warn({ reason: error.message }, 'voice: input ignored'),
    ...(dialogue ? { dialogue } : {}),
  });
  // Subscribing completes once the broker is reachable; until then satellites cannot be heard anyway.
  voice.start().then(
    () =>
      log.info(
        { grammar: config.voice.grammar, recognizer: engine.recognizer.name },
        'voice: listening on Hermes audio',
      ),
    (error: Error) => log.error({ reason: error.message }, 'voice: could not subscribe to Hermes audio'),
  );
  const microphone = startMicrophone(config.voice.microphone, voice, log);
  return {
    async stop() {
      microphone?.stop();
      await voice.stop();
      await dialogue?.close();
      await client.endAsync();
      await adaptation?.idle();
      await listening.close();
    },
  };
}

/**
 * Self-adaptation when `voice.adaptation` is on and sphinxtrain is installed. An adapted model made from
 * another base than the one configured now (an enrollment since) is not used, and is re-made when due.
 */
function openAdaptation(
  voice: VoiceConfig,
  log: Logger,
  useModel: (dir: string) => Promise<void>,
): SelfAdaptation | undefined {
  if (!voice.adaptation.enabled) return undefined;
  const baseModel = voice.acousticModel ? fromProjectRoot(voice.acousticModel) : DEFAULT_HMM;
  let opened: SelfAdaptation | string;
  try {
    opened = SelfAdaptation.open({
      ...voice.adaptation,
      dir: fromProjectRoot(voice.adaptation.dir),
      baseModel,
      denoise: voice.denoise,
      onAdapted: async (dir, summary) => {
        await useModel(dir);
        log.info({ ...summary, dir }, 'voice: acoustic model adapted to the commands heard, now in use');
      },
      onError: (error) => log.warn({ reason: error.message }, 'voice: self-adaptation failed'),
    });
  } catch (error) {
    // A kept-commands manifest edited into something unreadable: voice runs, unadapted, and says where.
    log.error(
      { reason: (error as Error).message },
      'voice: self-adaptation off: its kept commands cannot be read',
    );
    return undefined;
  }
  if (typeof opened === 'string') {
    log.info({ reason: opened }, 'voice: self-adaptation off');
    return undefined;
  }
  log.info(
    { kept: opened.kept, adaptedModel: opened.modelDir ?? null },
    'voice: self-adaptation on (commands heard are kept on this device to adapt the acoustic model)',
  );
  return opened;
}

/**
 * Wake word and spoken confirmation, when configured. Whether a command needs a "yes" is decided by a preview
 * through the agent's own parser, planner and safety checks (nothing moves), so it is judged on the same
 * understanding as the real run. If they cannot start, voice does not start either (see startVoice).
 */
async function openDialogue(
  agent: Agent,
  log: Logger,
  speak: (siteId: string, text: string) => void,
): Promise<VoiceDialogue | undefined> {
  const voice = agent.currentConfig.voice;
  if (!voice.wake.enabled && !voice.confirm.enabled) return undefined;
  return VoiceDialogue.open({
    wake: voice.wake,
    confirm: voice.confirm,
    grammarDir: fromProjectRoot(voice.grammar),
    minConfidence: voice.minConfidence,
    intentsOf: async (text) => {
      const plan = await agent.preview(text);
      const intents = clauseIntents(plan);
      // A preview refused before it understood anything (too long, shutting down) cannot say whether the
      // command moves, so it is asked back. A refused or failed plan still has its intents: a motion the
      // planner refused is asked back too.
      if (plan.status !== 'ok' && plan.status !== 'not_understood' && intents.every((i) => i === null))
        return undefined;
      return intents;
    },
    onCancelled: (siteId, command, reason) => {
      log.info({ siteId, text: command.text, reason }, 'voice: command not confirmed, cancelled');
      speak(siteId, reason === 'timeout' ? 'No answer. Cancelled.' : 'Cancelled.');
    },
  });
}

function startMicrophone(config: VoiceConfig['microphone'], voice: HermesVoice, log: Logger) {
  if (!config.enabled) return undefined;
  const microphone = new Microphone({
    config,
    onAudio: (samples, rate) => {
      voice.pushAudio(config.siteId, samples, rate).catch((error: Error) => {
        log.warn({ reason: error.message }, 'voice: microphone audio ignored');
      });
    },
    onError: (error) => log.error({ reason: error.message }, 'voice: microphone'),
    onStart: (pid) => log.info({ pid, device: config.device }, 'voice: microphone capturing'),
  });
  microphone.start();
  return microphone;
}
