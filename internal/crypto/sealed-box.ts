// AES-256-GCM with a key derived (HKDF-SHA256) from a secret, for the OAuth2 tokens we keep at rest
// (the webserver's login sessions, member restore). Each use names its own salt and info, so one
// secret never yields the same key for two purposes; the key is never logged.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

export class SealedBox {
  readonly #key: Buffer;

  constructor(secret: string, salt: string, info: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, salt, info, 32));
  }

  /** `aad`: what the ciphertext is bound to (a row and column), checked again on open. */
  seal(plain: string, aad?: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    if (aad !== undefined) cipher.setAAD(Buffer.from(aad));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return { iv, tag: cipher.getAuthTag(), data };
  }

  /** undefined for anything not sealed with this key and `aad` (tampered, other key, malformed). */
  open({ iv, tag, data }: Sealed, aad?: string): string | undefined {
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      if (aad !== undefined) decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  toJSON(): string {
    return 'SealedBox <redacted>';
  }
}
