import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { PendingCommand } from './confirm.ts';
import type { NoiseSuppressor } from './denoise.ts';
import type { VoiceDialogue } from './dialogue.ts';
import { EarlyDecodes, type Heard, inContinuation, type VoiceEngine } from './engine.ts';
import type { VoiceConfig } from './schema.ts';
import { Segmenter, type Utterance } from './segmenter.ts';
import { AudioStream } from './stream.ts';
import { play, synthesize } from './tts.ts';
import { typedForm } from './typed-form.ts';
import { SileroVad } from './vad.ts';
import type { WakeDetection } from './wake.ts';
import { decodeWav, WavError } from './wav.ts';

/**
 * Rhasspy/Snips Hermes protocol over MQTT, so existing satellites and microphones work:
 * in  `hermes/audioServer/<siteId>/audioFrame` (WAV chunks), `hermes/asr/startListening|stopListening`,
 *     `hermes/tts/say`;
 * out `hermes/asr/textCaptured`, `hermes/error/asr` (refused speech), `hermes/audioServer/<siteId>/playBytes/<id>`
 *     (spoken replies as WAV), `hermes/tts/sayFinished`, `hermes/hotword/<phrase>/detected` (wake word).
 */
export const HERMES = {
  audioFrame: (siteId: string) => `hermes/audioServer/${siteId}/audioFrame`,
  playBytes: (siteId: string, id: string) => `hermes/audioServer/${siteId}/playBytes/${id}`,
  startListening: 'hermes/asr/startListening',
  stopListening: 'hermes/asr/stopListening',
  textCaptured: 'hermes/asr/textCaptured',
  asrError: 'hermes/error/asr',
  say: 'hermes/tts/say',
  sayFinished: 'hermes/tts/sayFinished',
  hotwordDetected: (wakewordId: string) => `hermes/hotword/${wakewordId}/detected`,
};

/** The Hermes topics this side listens to. */
const INBOUND = [HERMES.audioFrame('+'), HERMES.startListening, HERMES.stopListening, HERMES.say];

/** What the command path answers for a heard command; `reply` is spoken back to the site. */
export type VoiceCommandHandler = (
  text: string,
  context: { siteId: string; sessionId: string; confidence: number },
) => Promise<{ reply?: string } | undefined>;

export interface HermesVoiceOptions {
  client: MqttClient;
  engine: VoiceEngine;
  config: VoiceConfig;
  onCommand: VoiceCommandHandler;
  /** Problems (bad frames, TTS failures) that must not stop the agent. */
  onError?: (error: Error) => void;
  /** Wake word and spoken confirmation (dialogue.ts); without it every utterance is a command. */
  dialogue?: VoiceDialogue;
  /**
   * A command accepted outright, or confirmed with a spoken "yes", with the audio it was heard in
   * (self-adaptation keeps it).
   */
  onAccepted?: (heard: Heard) => void;
}

interface Site {
  vad: SileroVad;
  /** RNNoise state for this satellite's stream (voice.denoise), closed with the site. */
  denoiser: NoiseSuppressor | undefined;
  stream: AudioStream;
  early: EarlyDecodes;
  listening: boolean;
  sessionId: string;
  /** Where the last utterance closed, if it was an accepted command: one starting "and then" may continue it. */
  lastCommandEnd?: number;
}

export class HermesVoice {
  private readonly sites = new Map<string, Site>();
  /** What was heard for a command waiting for its "yes", offered to `onAccepted` once confirmed. */
  private readonly awaitingYes = new WeakMap<PendingCommand, Heard>();
  private readonly pendingSites = new Map<string, Promise<Site>>();
  /** Sites refused by `maxSites`, reported once each (a refused microphone sends ~30 chunks a second). */
  private readonly refusedSites = new Set<string>();
  private readonly onMessage = (topic: string, payload: Buffer) => {
    this.handle(topic, payload).catch((error: Error) => this.options.onError?.(error));
  };

  constructor(private readonly options: HermesVoiceOptions) {}

  async start(): Promise<void> {
    const { client } = this.options;
    client.on('message', this.onMessage);
    await client.subscribeAsync(INBOUND);
  }

  async stop(): Promise<void> {
    const { client } = this.options;
    client.off('message', this.onMessage);
    // Offline, an unsubscribe would wait for the broker: stop must not (the session ends with the client).
    if (client.connected) await client.unsubscribeAsync(INBOUND);
    // Each site's VAD session is released; a later start() hears every site afresh.
    const sites = [...this.sites.values()];
    this.sites.clear();
    this.pendingSites.clear();
    this.refusedSites.clear();
    for (const site of sites) {
      await site.stream.flush().catch((error: Error) => this.options.onError?.(error));
      await site.vad.close();
      site.denoiser?.close();
    }
  }

  /** Sites heard since start(), each holding a VAD session. */
  get activeSites(): string[] {
    return [...this.sites.keys()];
  }

  private wantsSite(siteId: string): boolean {
    const ids = this.options.config.hermes.siteIds;
    return ids.length === 0 || ids.includes(siteId);
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const frame = /^hermes\/audioServer\/([^/]+)\/audioFrame$/.exec(topic);
    if (frame) {
      const siteId = frame[1]!;
      if (!this.wantsSite(siteId)) return;
      let audio: ReturnType<typeof decodeWav>;
      try {
        audio = decodeWav(payload);
      } catch (error) {
        if (error instanceof WavError) throw new Error(`${topic}: bad audio frame: ${error.message}`);
        throw error;
      }
      await this.pushAudio(siteId, audio.samples, audio.sampleRate);
      return;
    }
    const message = parseJson(payload);
    if (!message) throw new Error(`${topic}: payload is not a JSON object`);
    const siteId = typeof message.siteId === 'string' ? message.siteId : 'default';
    const sessionId = typeof message.sessionId === 'string' ? message.sessionId : '';
    if (topic === HERMES.say) {
      if (!this.wantsSite(siteId)) return;
      await this.say(
        String(message.text ?? ''),
        siteId,
        typeof message.id === 'string' ? message.id : randomUUID(),
        sessionId,
      );
    } else if (topic === HERMES.startListening && this.wantsSite(siteId)) {
      const site = await this.site(siteId);
      site.listening = true;
      site.sessionId = sessionId;
      this.options.dialogue?.wake(siteId);
    } else if (topic === HERMES.stopListening && this.wantsSite(siteId)) {
      const site = await this.site(siteId);
      // The end of push-to-talk ends the utterance even without trailing silence.
      await site.stream.flush();
      if (this.options.config.hermes.pushToTalk) site.listening = false;
    }
  }

  /** Audio from a site (Hermes frames, the local microphone): any rate, in order. */
  async pushAudio(siteId: string, samples: Float32Array, sampleRate: number): Promise<void> {
    if (this.refusedSites.has(siteId)) return;
    const site = await this.site(siteId);
    if (site.listening) await site.stream.push(samples, sampleRate);
  }

  private site(siteId: string): Promise<Site> {
    const known = this.sites.get(siteId);
    if (known) return Promise.resolve(known);
    let pending = this.pendingSites.get(siteId);
    if (!pending) {
      // Any client may publish frames under any site id: each new one costs a VAD session, so they are capped.
      const { maxSites, siteIds } = this.options.config.hermes;
      if (siteIds.length === 0 && this.pendingSites.size >= maxSites) {
        if (this.refusedSites.size >= 1024) this.refusedSites.clear();
        this.refusedSites.add(siteId);
        return Promise.reject(
          new Error(
            `${HERMES.audioFrame(siteId)}: ignored, already hearing ${maxSites} satellites (voice.hermes.maxSites; list them in voice.hermes.siteIds); reported once`,
          ),
        );
      }
      // Each site has its own VAD session (the model is recurrent) and segmenter.
      const early = new EarlyDecodes(this.options.engine);
      pending = this.siteAudio().then(({ vad, denoiser }) => {
        const stream = new AudioStream(
          vad,
          new Segmenter(this.options.config.vad),
          (u) => this.utterance(siteId, u),
          // Only when the utterance will be heard as a whole command: no wake phrase to find, no answer.
          (u) => (this.options.dialogue?.gatesUtterances(siteId) ? false : early.start(u)),
          denoiser,
        );
        const site = {
          vad,
          denoiser,
          stream,
          early,
          listening: !this.options.config.hermes.pushToTalk,
          sessionId: '',
        };
        this.sites.set(siteId, site);
        return site;
      });
      this.pendingSites.set(siteId, pending);
      // A site whose set-up failed (e.g. the VAD model could not load) is tried again with its next frame.
      pending.catch(() => this.pendingSites.delete(siteId));
    }
    return pending;
  }

  /** A site's VAD session and noise suppressor; neither is left open when the other fails to load. */
  private async siteAudio(): Promise<{ vad: SileroVad; denoiser: NoiseSuppressor | undefined }> {
    const vad = await SileroVad.load();
    try {
      return { vad, denoiser: await this.options.engine.noiseSuppressor() };
    } catch (error) {
      await vad.close();
      throw error;
    }
  }

  private async utterance(siteId: string, utterance: Utterance): Promise<void> {
    const { dialogue, engine } = this.options;
    const early = this.sites.get(siteId)?.early.take(utterance);
    if (!dialogue)
      return this.heard(siteId, this.inContext(siteId, await (early ?? engine.recognize(utterance))));
    const route = await dialogue.route(siteId, utterance);
    if (route.kind === 'woke') {
      await this.woke(siteId, route.detection);
    } else if (route.kind === 'recognize') {
      // The early decode heard the same audio only when the route did not cut a wake phrase off it.
      const heard = this.inContext(
        siteId,
        await (route.samples.length === utterance.samples.length && early
          ? early
          : engine.recognize({ ...utterance, samples: route.samples })),
      );
      if (route.interrupted) {
        const r = heard.recognition;
        // "Pick it up?" … "and then go home": the speaker is still giving the command. The two are asked
        // about as one; anything else cancels the held command.
        if (r.accepted && r.continues) {
          const text = `${route.interrupted.text} then ${r.text}`;
          const confidence = Math.min(r.confidence, route.interrupted.confidence);
          return this.heard(siteId, { ...heard, recognition: { ...r, text, confidence } });
        }
        dialogue.cancel(siteId, route.interrupted);
      }
      if (heard.recognition.accepted) await this.heard(siteId, heard, route.wake);
      else if (await this.stopInDoubt(siteId, heard, route.wake)) return;
      else if (!(await this.askBack(siteId, heard))) {
        // The phrase and something that is not a command: awake, waiting for the command.
        if (route.wake) {
          dialogue.wake(siteId);
          await this.woke(siteId, route.wake);
        } else await this.heard(siteId, heard);
      }
    } else if (route.kind === 'execute') {
      const { text, confidence, sessionId } = route.command;
      await this.command(siteId, text, confidence, utterance.samples.length / 16000, sessionId, null);
      const confirmed = this.awaitingYes.get(route.command);
      // The speaker said yes to these words: they are what was said, whatever doubt held them.
      if (confirmed)
        this.options.onAccepted?.({
          ...confirmed,
          recognition: { ...confirmed.recognition, accepted: true, doubt: undefined },
        });
    }
  }

  /** A command continued with a connective stands only right after another (`inContinuation`); remembers this one. */
  private inContext(siteId: string, heard: Heard): Heard {
    const site = this.sites.get(siteId);
    const checked = inContinuation(heard, site?.lastCommandEnd);
    if (site) site.lastCommandEnd = checked.recognition.accepted ? checked.utterance.closedAt : undefined;
    return checked;
  }

  private async woke(siteId: string, detection: WakeDetection): Promise<void> {
    const id = detection.phrase.replace(/\s+/g, '_');
    await this.options.client.publishAsync(
      HERMES.hotwordDetected(id),
      JSON.stringify({ siteId, modelId: id, modelType: 'personal', sessionId: null }),
    );
  }

  /**
   * A stop heard in doubt runs at once: asking "stop?" would leave the robot moving while the question is
   * spoken, and a stop that was not meant only halts it. Not kept for self-adaptation (its words are doubted).
   */
  private async stopInDoubt(siteId: string, heard: Heard, wake?: WakeDetection): Promise<boolean> {
    const r = heard.recognition;
    if (!r.doubt || !(await this.options.dialogue?.onlyStops(typedForm(r.text)))) return false;
    await this.heard(
      siteId,
      { ...heard, recognition: { ...r, accepted: true, doubt: undefined } },
      wake,
      false,
    );
    return true;
  }

  private async heard(siteId: string, heard: Heard, wake?: WakeDetection, keep = true): Promise<void> {
    const { client } = this.options;
    const r = heard.recognition;
    const sessionId = this.sites.get(siteId)?.sessionId || randomUUID();
    const seconds = heard.utterance.samples.length / 16000;
    if (!r.accepted) {
      await client.publishAsync(
        HERMES.asrError,
        JSON.stringify({ error: `speech not recognised: ${r.reason}`, context: r.text, siteId, sessionId }),
      );
      return;
    }
    const wakewordId = wake ? wake.phrase.replace(/\s+/g, '_') : null;
    // The typed form (numbers as digits) is what the parser reads best; Rhasspy's NLU takes digits too. It is
    // also what runs, so whether it needs a "yes" is judged on it, not on the words as heard.
    const text = typedForm(r.text);
    const command = { text, confidence: r.confidence, sessionId };
    const held = await this.options.dialogue?.hold(siteId, command);
    // A command waiting for its spoken "yes" is not captured yet (the agent would run textCaptured).
    if (held) {
      this.awaitingYes.set(command, heard);
      return this.say(held.question, siteId, randomUUID(), sessionId);
    }
    await this.command(siteId, text, r.confidence, seconds, sessionId, wakewordId);
    // After the command is on its way: keeping it writes a file.
    if (keep) this.options.onAccepted?.(heard);
  }

  /**
   * A command refused only for a doubt (too close to its opposite, "on" / "off"; heard only before noise
   * suppression) is asked back rather than dropped, when the dialogue can ask (voice.confirm.askWhenUnsure);
   * true when the question was put.
   */
  private async askBack(siteId: string, heard: Heard): Promise<boolean> {
    const r = heard.recognition;
    if (!r.doubt || !this.options.dialogue) return false;
    const sessionId = this.sites.get(siteId)?.sessionId || randomUUID();
    const command = { text: typedForm(r.text), confidence: r.confidence, sessionId };
    const asked = await this.options.dialogue.hold(siteId, command, r.doubt);
    if (!asked) return false;
    this.awaitingYes.set(command, heard);
    await this.say(asked.question, siteId, randomUUID(), sessionId);
    return true;
  }

  private async command(
    siteId: string,
    text: string,
    confidence: number,
    seconds: number,
    sessionId: string,
    wakewordId: string | null,
  ): Promise<void> {
    await this.options.client.publishAsync(
      HERMES.textCaptured,
      JSON.stringify({ text, likelihood: confidence, seconds, siteId, sessionId, wakewordId }),
    );
    // Not awaited: the agent answers when a motion has finished, and the site's audio is analysed in order, so
    // waiting here would leave a "stop" said meanwhile unheard until the robot had arrived.
    this.options
      .onCommand(text, { siteId, sessionId, confidence })
      .then((answer) => (answer?.reply ? this.say(answer.reply, siteId, randomUUID(), sessionId) : undefined))
      .catch((error: Error) => this.options.onError?.(error));
  }

  /** Speaks `text` to a site: WAV over MQTT for a satellite or aplay locally, then `sayFinished`. */
  async say(text: string, siteId: string, id: string, sessionId: string): Promise<void> {
    const tts = this.options.config.tts;
    try {
      if (tts.enabled && tts.output !== 'none' && text.trim()) {
        const wav = await synthesize(text, tts);
        if (tts.output === 'aplay') await play(wav);
        else await this.options.client.publishAsync(HERMES.playBytes(siteId, id), wav);
      }
    } finally {
      await this.options.client.publishAsync(HERMES.sayFinished, JSON.stringify({ id, sessionId, siteId }));
    }
  }
}

function parseJson(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
