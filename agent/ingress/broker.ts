import { connect, createServer, type Server } from 'node:net';
import type { Logger } from '../log.ts';

/** True when something accepts TCP connections at host:port within the timeout. */
export function probeBroker(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export interface EmbeddedBroker {
  url: string;
  host: string;
  port: number;
  /** aedes speaks MQTT 3.1.1 only: clients must not ask for 5. */
  protocolVersion: 4;
  close(): Promise<void>;
}

/** An in-process aedes broker (MQTT 3.1.1), with Nagle off on every client socket. */
export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  // Imported here: most installations use a real broker, and aedes costs start-up time and memory.
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `mqtt://${host}:${actualPort}`,
    host,
    port: actualPort,
    protocolVersion: 4,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface BrokerChoice {
  url: string;
  /** Set when we started the embedded broker (the agent closes it at shutdown). */
  embedded?: EmbeddedBroker;
}

/** `mqtt.url` when configured; else localhost:<port> if a broker answers; else the embedded broker. */
export async function chooseBroker(
  configuredUrl: string | undefined,
  embedded: { host: string; port: number },
  log: Logger,
): Promise<BrokerChoice> {
  if (configuredUrl) return { url: configuredUrl };
  if (await probeBroker('127.0.0.1', embedded.port)) {
    log.info({ port: embedded.port }, 'using the MQTT broker already running on localhost');
    return { url: `mqtt://127.0.0.1:${embedded.port}` };
  }
  const broker = await startEmbeddedBroker(embedded.host, embedded.port);
  log.info(
    { url: broker.url },
    'no broker configured or running: started the embedded broker (aedes, MQTT 3.1.1)',
  );
  return { url: broker.url, embedded: broker };
}
