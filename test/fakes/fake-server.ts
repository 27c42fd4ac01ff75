/** What the fake upstreams share: listening on loopback, counting and closing sockets, JSON answers. */
import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Listening {
  url: string;
  port: number;
  /** connections currently open to the fake */
  openSockets(): number;
  /** destroy every connection and stop listening */
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 and a free port, keeping track of the connections. */
export async function listenLoopback(server: http.Server): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** 200 with a JSON body. */
export function sendJson(res: http.ServerResponse, value: unknown): void {
  const s = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}
