// A raw /api/sync protocol client for abuse tests: send any message (or raw text), await the next
// one matching a predicate (a generous deadline names what did arrive instead).
import { WebSocket } from 'ws';

export interface RawSyncClient {
  socket: WebSocket;
  send(message: object | string): void;
  next(match: (message: any) => boolean): Promise<any>;
}

export async function connectRawSync(url: string, options: WebSocket.ClientOptions = {}): Promise<RawSyncClient> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/sync`, options);
  const received: any[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((wake) => wake());
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const next = (match: (message: any) => boolean) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message; got ${JSON.stringify(received)}`)), 10_000);
      const check = () => {
        const index = received.findIndex(match);
        if (index === -1) return void waiters.push(check);
        clearTimeout(timer);
        resolve(received.splice(index, 1)[0]);
      };
      check();
    });
  return {
    socket,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next,
  };
}
