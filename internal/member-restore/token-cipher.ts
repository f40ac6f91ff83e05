// The OAuth2 tokens of member restore, encrypted at rest with a key from meta.oauth_token_key.
// Stored as iv (12 bytes) | tag (16) | ciphertext. The user id and the field name are the
// additional data, so a ciphertext moved to another row or column does not decrypt.
import { IV_BYTES, SealedBox, TAG_BYTES } from '../crypto/sealed-box';

export type TokenField = 'access_token' | 'refresh_token';

export class TokenCipher {
  readonly #box: SealedBox;

  constructor(secret: string) {
    this.#box = new SealedBox(secret, '', 'splashtail member-restore oauth2 tokens v1');
  }

  seal(userId: string, field: TokenField, token: string): Buffer {
    const { iv, tag, data } = this.#box.seal(token, `${userId}:${field}`);
    return Buffer.concat([iv, tag, data]);
  }

  /** The token, or an error saying the key does not open it (changed key, or a row tampered with). */
  open(userId: string, field: TokenField, sealed: Buffer): string {
    const parts = { iv: sealed.subarray(0, IV_BYTES), tag: sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES), data: sealed.subarray(IV_BYTES + TAG_BYTES) };
    const token = this.#box.open(parts, `${userId}:${field}`);
    if (token === undefined) throw new Error(`the stored ${field} of user ${userId} does not decrypt with meta.oauth_token_key (the key changed?); the user must opt in again`);
    return token;
  }

  /** Never the key, whatever logs this object. */
  toJSON(): string {
    return 'TokenCipher <redacted>';
  }
}
