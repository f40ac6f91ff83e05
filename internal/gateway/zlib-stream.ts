// zlib-stream transport compression: one deflate context per connection, every message
// ended with a sync flush so it carries the 00 00 ff ff suffix clients wait for.
import { constants, createDeflate, type Deflate, deflateSync } from 'node:zlib';

export class ZlibStreamWriter {
  private readonly deflate: Deflate = createDeflate({ flush: constants.Z_NO_FLUSH });
  private queue: Promise<void> = Promise.resolve();

  /** Compresses one message; calls resolve in the order messages were written. */
  write(text: string): Promise<Buffer> {
    const result = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const onData = (c: Buffer) => chunks.push(c);
          this.deflate.on('data', onData);
          this.deflate.write(text);
          this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
            this.deflate.off('data', onData);
            const out = Buffer.concat(chunks);
            if (out.length < 4) reject(new Error('zlib-stream: empty flush'));
            else resolve(out);
          });
        }),
    );
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  close(): void {
    this.deflate.close();
  }
}

/** Identify `compress: true`: each payload deflated on its own. */
export const deflatePayload = (text: string): Buffer => deflateSync(text);

export const ZLIB_SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);
