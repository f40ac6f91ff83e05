// A minimal round-robin TCP relay (what HAProxy does in production, see the README): each
// client connection goes to the next backend; a backend that refuses is skipped, and while
// none accepts the client waits (up to `connectWaitMs`), so a bot reconnecting during a proxy
// restart reaches the new process instead of failing its connect and dropping its session.
// Used by `splashtail dev --proxies N` and by the tests.
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface RelayBackend {
  host: string;
  port: number;
}

export interface TcpRelay {
  port: number;
  close: () => Promise<void>;
}

export async function startTcpRelay(opts: { host?: string; port?: number; backends: RelayBackend[]; connectWaitMs?: number }): Promise<TcpRelay> {
  if (opts.backends.length === 0) throw new Error('a relay needs at least one backend');
  const waitMs = opts.connectWaitMs ?? 15_000;
  const sockets = new Set<Socket>();
  let next = 0;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const deadline = Date.now() + waitMs;
    let tried = 0;
    const attempt = () => {
      if (client.destroyed) return;
      const backend = opts.backends[next++ % opts.backends.length]!;
      tried++;
      const upstream = connect(backend.port, backend.host);
      sockets.add(upstream);
      upstream.once('close', () => sockets.delete(upstream));
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        upstream.destroy();
        if (Date.now() > deadline) return client.destroy();
        // Every backend refused once: wait a little before the next round.
        setTimeout(attempt, tried % opts.backends.length === 0 ? 100 : 0);
      });
    };
    attempt();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
