import { Agent } from './agent.ts';
import { ConfigError } from './config/errors.ts';
import { loadConfig } from './config/load.ts';
import { createPipeline } from './default-pipeline.ts';
import { fleetBootConfig, startFleet } from './fleet/agent-link.ts';
import { startConsole } from './ingress/console.ts';
import { startVoiceFollowingConfig } from './ingress/voice/service.ts';
import { createLogger } from './log.ts';
import { guardProcess } from './process-guard.ts';
import { SystemdNotifier } from './systemd.ts';

/** `sling start`: the agent as a process — config, signals, console, systemd. Resolves to the exit code. */
export async function runAgent(options: { config?: string; console: boolean }): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(options.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const { config } = loaded;
  const log = createLogger(config.log);
  const notifier = new SystemdNotifier();
  let agent: Agent | undefined;
  guardProcess({
    log,
    stop: async (reason) => {
      void notifier.stopping();
      await agent?.stop(reason);
    },
    stopTimeoutMs: config.agent.shutdownTimeoutMs + 1000,
  });

  // Signals are handled from the first moment: one that arrives while starting stops the agent once started.
  let stopRequested: string | undefined;
  let onStop: ((signal: string) => void) | undefined;
  const requestStop = (signal: string) => {
    if (stopRequested) {
      process.exit(1); // a second signal: stop waiting
    }
    stopRequested = signal;
    onStop?.(signal);
  };
  const onSigint = () => requestStop('SIGINT');
  const onSigterm = () => requestStop('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);

  // Fleet: boot with the last-known-good fleet config (works offline), then follow the fleet's documents.
  const boot = fleetBootConfig(config);
  if (boot.error) log.warn({ reason: boot.error }, 'fleet: booting from the local file');
  agent = await Agent.start({ config: boot.config, log, pipeline: createPipeline });
  const fleet = config.fleet.enabled ? await startFleet({ agent, fileConfig: config, log }) : undefined;
  agent.once('stopping', () => void fleet?.stop());
  const voice = await startVoiceFollowingConfig(agent, log);
  agent.once('stopping', () => void voice.stop());
  log.info(
    { broker: agent.brokerUrl, topics: `${agent.topics.base}/#`, config: loaded.file ?? 'built-in defaults' },
    `agent ${agent.online ? 'online' : 'started (broker not reachable yet)'}`,
  );
  void notifier.ready(`online: ${agent.brokerUrl} ${agent.topics.base}`);

  const wantConsole =
    config.agent.console === 'on' || (config.agent.console === 'auto' && process.stdin.isTTY);
  const rl = options.console && wantConsole ? startConsole(agent) : undefined;

  return new Promise<number>((resolve) => {
    onStop = (signal: string) => {
      rl?.close();
      void notifier.stopping();
      const hardStop = setTimeout(() => {
        log.error('shutdown took too long: exiting anyway');
        process.exit(0);
      }, config.agent.shutdownTimeoutMs + 1000);
      hardStop.unref();
      void agent.stop(signal).then(() => {
        clearTimeout(hardStop);
        resolve(0);
        // Timers of libraries (mqtt keepalive, pino) must not keep a stopped agent alive.
        setImmediate(() => process.exit(0));
      });
    };
    rl?.on('close', () => {
      if (!stopRequested) requestStop('console closed');
    });
    if (stopRequested) onStop(stopRequested);
  });
}
