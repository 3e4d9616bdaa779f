import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { LineSplitter } from './line-splitter.ts';
import { type DeviceLine, encodeRequest, parseDeviceLine, SequenceCounter } from './protocol.ts';

export interface LinkOptions {
  /** Prefer a stable path (/dev/serial/by-id/...): it disappears on unplug and comes back on replug. */
  path: string;
  baudRate: number;
  requestTimeoutMs: number;
  /** Extra attempts after a timeout, with the same sequence number (the device answers a repeat once). */
  retries: number;
  heartbeatMs: number;
  /** No line from the device for this long = the link is dead (closes the port and reconnects). */
  staleAfterMs: number;
  watchdogMs: number;
  reconnectMs: number;
  /** How long after opening the device may take to answer PING (a board may boot after the open). */
  syncTimeoutMs: number;
  maxLineLength: number;
}

export type Reply = { ok: true; data: string[] } | { ok: false; code: number; reason: string };

export class LinkError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'disconnected' | 'closed',
  ) {
    super(message);
  }
}

type Pending = { settle: (reply: Reply) => void; fail: (error: LinkError) => void };
export type LinkState = 'idle' | 'connecting' | 'syncing' | 'connected' | 'closed';

/**
 * One serial connection to a device speaking the Sling line protocol: requests with timeouts and
 * retries, heartbeat, a watchdog and reconnection. Events: 'connected' ({firmware}), 'disconnected'
 * ({reason}), 'telemetry' (fields), 'event' ({name, fields}), 'hello' ({firmware, version}),
 * 'invalid' ({line, why}), 'overflow'.
 */
export class SerialLink extends EventEmitter {
  state: LinkState = 'idle';
  /** Why the link is not connected (for health reports). */
  lastProblem = 'not started';
  firmware = '';
  private port: SerialPort | undefined;
  private readonly sequence = new SequenceCounter();
  private readonly pending = new Map<number, Pending>();
  private lastReceivedAt = 0;
  private heartbeatInFlight = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;

  constructor(readonly options: LinkOptions) {
    super();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    void this.connect();
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Resolves true once connected, false after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((done) => {
      const onConnected = () => {
        clearTimeout(timer);
        done(true);
      };
      const timer = setTimeout(() => {
        this.off('connected', onConnected);
        done(false);
      }, timeoutMs);
      this.once('connected', onConnected);
    });
  }

  /** Sends a request and waits for its reply; a device ERR is a reply, not an exception. */
  async request(
    command: string,
    args: readonly (string | number)[] = [],
    options: { timeoutMs?: number; retries?: number } = {},
  ): Promise<Reply> {
    if (this.state !== 'connected') throw new LinkError(`not connected: ${this.lastProblem}`, 'disconnected');
    const seq = this.sequence.next();
    const line = encodeRequest(seq, command, args);
    const retries = options.retries ?? this.options.retries;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendOnce(seq, line, timeoutMs);
      } catch (error) {
        if (!(error instanceof LinkError) || error.reason !== 'timeout' || attempt >= retries) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    this.state = 'closed';
    this.lastProblem = 'closed';
    clearTimeout(this.connectTimer);
    const port = this.port;
    this.dropPort('link closed', 'closed');
    if (port?.isOpen) await new Promise<void>((done) => port.close(() => done()));
  }

  private sendOnce(seq: number, line: string, timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const port = this.port;
      if (!port) {
        reject(new LinkError(`not connected: ${this.lastProblem}`, 'disconnected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new LinkError(`no reply to "${line.trim()}" within ${timeoutMs} ms`, 'timeout'));
      }, timeoutMs);
      this.pending.set(seq, {
        settle: (reply) => {
          clearTimeout(timer);
          this.pending.delete(seq);
          resolve(reply);
        },
        fail: (error) => {
          clearTimeout(timer);
          this.pending.delete(seq);
          reject(error);
        },
      });
      port.write(line);
    });
  }

  private scheduleConnect(delayMs: number): void {
    if (this.state === 'closed') return;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => void this.connect(), delayMs);
  }

  private async connect(): Promise<void> {
    if (this.state === 'closed' || this.port) return;
    const { path, baudRate } = this.options;
    if (!existsSync(path)) {
      this.lastProblem = `${path} does not exist`;
      this.scheduleConnect(this.options.reconnectMs);
      return;
    }
    this.state = 'connecting';
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.on('error', (error) => this.dropPort(`serial error: ${error.message}`, 'disconnected', port));
    try {
      await new Promise<void>((done, fail) => port.open((error) => (error ? fail(error) : done())));
    } catch (error) {
      this.lastProblem = `cannot open ${path}: ${(error as Error).message}`;
      this.scheduleConnect(this.options.reconnectMs);
      return;
    }
    if ((this.state as LinkState) === 'closed') {
      port.close(() => {});
      return;
    }
    this.port = port;
    const splitter = new LineSplitter(this.options.maxLineLength);
    splitter.on('data', (line: string) => this.onLine(line));
    splitter.on('overflow', (limit: number) => this.emit('overflow', limit));
    port.pipe(splitter);
    port.on('close', () => this.dropPort('port closed (device unplugged?)', 'disconnected', port));
    this.lastReceivedAt = Date.now();
    this.state = 'syncing';
    this.startWatchdog();
    // The open discarded whatever the device sent before; PING until it answers (a board may reset on open).
    const deadline = Date.now() + this.options.syncTimeoutMs;
    await this.sync(port, deadline);
  }

  private async sync(port: SerialPort, deadline: number): Promise<void> {
    while (this.port === port && Date.now() < deadline) {
      const seq = this.sequence.next();
      // A PING sent while the board was resetting is lost: when its HELLO arrives, ask again at once.
      let onHello = () => {};
      const hello = new Promise<'hello'>((done) => {
        onHello = () => done('hello');
        this.once('hello', onHello);
      });
      try {
        const reply = await Promise.race([
          this.sendOnce(seq, encodeRequest(seq, 'PING'), this.options.requestTimeoutMs),
          hello,
        ]);
        if (this.port !== port) return;
        if (reply !== 'hello' && reply.ok) {
          this.state = 'connected';
          this.firmware = reply.data.join(' ');
          this.lastProblem = '';
          this.startHeartbeat();
          this.emit('connected', { firmware: this.firmware });
          return;
        }
      } catch (error) {
        if (error instanceof LinkError && error.reason !== 'timeout') return;
      } finally {
        this.off('hello', onHello);
      }
    }
    if (this.port === port)
      this.dropPort(`no answer to PING within ${this.options.syncTimeoutMs} ms`, 'disconnected', port);
  }

  private onLine(line: string): void {
    this.lastReceivedAt = Date.now();
    const message: DeviceLine = parseDeviceLine(line);
    switch (message.kind) {
      case 'ok':
        this.pending.get(message.seq)?.settle({ ok: true, data: message.data });
        break;
      case 'err':
        this.pending.get(message.seq)?.settle({ ok: false, code: message.code, reason: message.reason });
        break;
      case 'telemetry':
        this.emit('telemetry', message.fields);
        break;
      case 'event':
        this.emit('event', { name: message.name, fields: message.fields });
        break;
      case 'hello':
        this.emit('hello', { firmware: message.firmware, version: message.version });
        break;
      case 'invalid':
        this.emit('invalid', { line: message.line, why: message.why });
        break;
    }
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (this.state !== 'connected' || this.heartbeatInFlight) return;
      this.heartbeatInFlight = true;
      this.request('HB', [], { retries: 0 })
        .catch(() => {}) // a missed heartbeat shows up as staleness in the watchdog
        .finally(() => {
          this.heartbeatInFlight = false;
        });
    }, this.options.heartbeatMs);
  }

  /**
   * serialport 13 may see no close/error event when the device hangs up during a read and spin in
   * its read loop instead (bindings-cpp issue 162), so check the device path and the traffic ourselves
   * and close the port when either is gone.
   */
  private startWatchdog(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = setInterval(() => {
      const port = this.port;
      if (!port) return;
      if (!existsSync(this.options.path))
        this.dropPort(`${this.options.path} disappeared`, 'disconnected', port);
      else if (Date.now() - this.lastReceivedAt > this.options.staleAfterMs)
        this.dropPort(`no data from the device for ${this.options.staleAfterMs} ms`, 'disconnected', port);
    }, this.options.watchdogMs);
  }

  /** Forgets the current port (closing it ourselves), fails what was waiting on it, and reconnects. */
  private dropPort(reason: string, kind: 'disconnected' | 'closed', port = this.port): void {
    if (!port || port !== this.port) {
      if (port?.isOpen) port.close(() => {});
      return;
    }
    const wasConnected = this.state === 'connected';
    this.port = undefined;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.watchdogTimer);
    this.heartbeatInFlight = false;
    port.unpipe();
    if (port.isOpen) port.close(() => {});
    for (const waiting of [...this.pending.values()]) waiting.fail(new LinkError(reason, kind));
    this.lastProblem = reason;
    if (this.state !== 'closed') this.state = 'connecting';
    if (wasConnected) this.emit('disconnected', { reason });
    this.scheduleConnect(this.options.reconnectMs);
  }
}
