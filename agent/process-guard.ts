import type { Logger } from './log.ts';

export interface ProcessGuardOptions {
  log: Logger;
  /** Brings actuators to a safe state and says goodbye on MQTT (the agent's graceful stop). */
  stop: (reason: string) => Promise<void>;
  /** How long `stop` may take before the process exits anyway. */
  stopTimeoutMs: number;
  exit?: (code: number) => void;
}

/**
 * The last line of defence for bugs that escape every handler. A stray rejected promise (a side path such
 * as a voice decode or a report publish) is logged and the agent keeps running: Node's default would kill
 * the process and, with it, the watchdogs that keep motors safe. An uncaught exception leaves the process in
 * an unknown state, so the agent stops motion, publishes "offline" and exits 1 for the service manager
 * (systemd `Restart=always`) to start a clean one.
 */
export function guardProcess(options: ProcessGuardOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let fatal = false;

  const onRejection = (reason: unknown) => {
    options.log.error(
      { err: reason },
      'unhandled promise rejection (a bug, please report it): logged; the agent keeps running',
    );
  };

  const onException = (error: Error, origin: string) => {
    if (fatal) {
      options.log.fatal({ err: error, origin }, 'uncaught exception while stopping: exiting now');
      exit(1);
      return;
    }
    fatal = true;
    options.log.fatal(
      { err: error, origin },
      'uncaught exception (a bug, please report it): stopping motion and exiting for a clean restart',
    );
    const timer = setTimeout(() => exit(1), options.stopTimeoutMs);
    timer.unref();
    options
      .stop('uncaught exception')
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        exit(1);
      });
  };

  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
