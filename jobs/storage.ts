// Where task outputs live. `local`: files under object_storage.path, written atomically
// (a temp file renamed into place, so a reader never sees half a file).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';

export interface ObjectStorage {
  put(key: string, body: Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  delete(key: string): Promise<void>;
}

export class LocalStorage implements ObjectStorage {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    const path = normalize(join(this.root, key));
    if (!path.startsWith(normalize(this.root))) throw new Error(`object key escapes the storage root: ${key}`);
    return path;
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, body);
    await rename(temp, path);
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}

/** Download links: `?expires=<unix ms>&signature=<hmac>`, valid for 10 minutes. */
export const DOWNLOAD_TTL_MS = 10 * 60_000;

export function sign(secret: string, taskId: string, expires: number): string {
  return createHmac('sha256', secret).update(`${taskId}:${expires}`).digest('base64url');
}

export function verify(secret: string, taskId: string, expires: number, signature: string, now = Date.now()): 'ok' | 'expired' | 'bad signature' {
  const expected = Buffer.from(sign(secret, taskId, expires));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad signature';
  return expires < now ? 'expired' : 'ok';
}

/** Any S3-compatible endpoint (object_storage.endpoint/bucket/keys). Uploads are atomic on S3 by nature. */
export class S3Storage implements ObjectStorage {
  private readonly client: import('@aws-sdk/client-s3').S3Client;

  constructor(
    private readonly sdk: typeof import('@aws-sdk/client-s3'),
    options: { endpoint: string; bucket: string; region: string; accessKey?: string; secretKey?: string },
  ) {
    this.bucket = options.bucket;
    this.client = new sdk.S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: true,
      credentials: options.accessKey && options.secretKey ? { accessKeyId: options.accessKey, secretAccessKey: options.secretKey } : undefined,
    });
  }

  private readonly bucket: string;

  async put(key: string, body: Buffer): Promise<void> {
    await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  async get(key: string): Promise<Buffer> {
    const res = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
