// A client that sends headers and part of a body, then nothing: how long until the server cuts it?
import { connect } from 'node:net';

/** Resolves with the milliseconds until the server closed the connection (rejects after `giveUpMs`). */
export function halfSentBody(url: string, path: string, giveUpMs: number): Promise<{ ms: number; response: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let response = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"half":`);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a half-sent body open for ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('data', (d) => (response += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, response });
    });
  });
}
