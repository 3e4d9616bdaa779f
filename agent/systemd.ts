import { execFile } from 'node:child_process';

/**
 * sd_notify for `Type=notify` units. Node cannot send unix datagrams and the npm `sd-notify` package is a
 * native addon (install scripts are blocked here), so this runs systemd's own `systemd-notify` binary, which
 * every systemd machine has. Messages then come from a child process: the unit needs `NotifyAccess=all`.
 * No `--no-block`: blocking makes systemd-notify wait until the manager has read the message (a barrier), so
 * the short-lived child cannot exit before systemd has attributed it to this unit (the documented race).
 */
export class SystemdNotifier {
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly env: Record<string, string | undefined> = process.env,
    private readonly binary = 'systemd-notify',
  ) {}

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  /** The watchdog interval systemd asked for (WatchdogSec), if it is meant for this process. */
  get watchdogMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    const pid = this.env.WATCHDOG_PID;
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return undefined;
    if (pid !== undefined && Number(pid) !== process.pid) return undefined;
    return usec / 1000;
  }

  send(...assignments: string[]): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    return new Promise((resolve) => {
      execFile(this.binary, assignments, { env: { ...process.env, ...this.env }, timeout: 2000 }, (error) =>
        resolve(!error),
      );
    });
  }

  /** READY=1 and, when systemd set WatchdogSec, pings at half the interval: a stalled event loop stops them. */
  async ready(status?: string): Promise<boolean> {
    const ok = await this.send(`MAINPID=${process.pid}`, 'READY=1', ...(status ? [`STATUS=${status}`] : []));
    const interval = this.watchdogMs;
    if (interval !== undefined && !this.watchdog) {
      this.watchdog = setInterval(() => void this.send('WATCHDOG=1'), Math.max(100, interval / 2));
      this.watchdog.unref();
    }
    return ok;
  }

  async stopping(): Promise<boolean> {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    return this.send('STOPPING=1');
  }
}
