// Encrypts the OAuth2 tokens the webserver keeps for a user, so a Redis dump does not hand out
// Discord access. The key comes from discord_auth.client_secret: whoever holds that can already
// mint tokens for our application. Sealed text: base64url iv.tag.data.
import { SealedBox } from '../internal/crypto/sealed-box';

export interface TokenBox {
  seal(plain: string): string;
  /** undefined for anything not sealed with this key (tampered, other key, malformed). */
  open(sealed: string): string | undefined;
}

export function tokenBox(secret: string): TokenBox {
  const box = new SealedBox(secret, 'splashtail-webserver', 'oauth2-token-box');
  return {
    seal(plain) {
      const { iv, tag, data } = box.seal(plain);
      return [iv, tag, data].map((b) => b.toString('base64url')).join('.');
    },
    open(sealed) {
      const [iv, tag, data, extra] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
      if (!iv || !tag || !data || extra) return undefined;
      return box.open({ iv, tag, data });
    },
  };
}
