// The sim's CDN: message attachments and guild images (icon, banner, splash), served under
// /cdn like Discord's (cdn/attachments/<channel>/<id>/<file>, cdn/icons/<guild>/<hash>.png, ...).
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export class SimCdn {
  private readonly files = new Map<string, { body: Buffer; type: string }>();
  base = '';

  /** Stores a file; returns its public URL. */
  put(path: string, body: Buffer, type = 'application/octet-stream'): string {
    this.files.set(path, { body, type });
    return `${this.base}/cdn/${path}`;
  }

  /** A guild (or role) image from a `data:image/png;base64,...` URI, as Discord takes them; returns its hash. */
  putImage(kind: 'icons' | 'banners' | 'splashes' | 'role-icons', ownerId: string, dataUri: string): string {
    const match = /^data:(image\/[a-z]+);base64,(.+)$/.exec(dataUri);
    if (!match) throw new Error('must be a data:image/...;base64 URI');
    const body = Buffer.from(match[2]!, 'base64');
    const hash = createHash('md5').update(body).digest('hex');
    this.put(`${kind}/${ownerId}/${hash}.png`, body, match[1]);
    return hash;
  }

  routes(app: FastifyInstance): void {
    app.get('/cdn/*', (req, reply) => {
      const path = (req.params as { '*': string })['*'].split('?')[0]!;
      const file = this.files.get(path);
      if (!file) return reply.status(404).send({ message: '404: Not Found', code: 0 });
      return reply.type(file.type).send(file.body);
    });
  }
}
