// Discord's OAuth2 token endpoint for member restore: the code exchange, the refresh_token grant
// and revocation (topics/oauth2). Tokens go in form bodies, never in URLs or logs.
import type { RESTPostOAuth2AccessTokenResult } from 'discord-api-types/v10';

const MAX_ATTEMPTS = 5;

/** Discord refused a refresh token (the user removed the app, or it was used already). */
export class GrantRefused extends Error {
  override name = 'GrantRefused';
}

export interface OAuthClientOptions {
  /** REST base, e.g. https://discord.com/api (config discord_auth.api_url). */
  api: string;
  clientId: string;
  clientSecret: string;
}

export class DiscordOAuth {
  private readonly api: string;

  constructor(private readonly o: OAuthClientOptions) {
    this.api = o.api.replace(/\/$/, '');
  }

  /** Rate limited (429), the request is sent again after Discord's retry_after, a few times. */
  private async post(path: string, form: Record<string, string>): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${this.api}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: this.o.clientId, client_secret: this.o.clientSecret, ...form }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 429 || attempt === MAX_ATTEMPTS) return res;
      const { retry_after } = (await res.json().catch(() => ({}))) as { retry_after?: number };
      const seconds = Number.isFinite(retry_after) ? retry_after! : Number(res.headers.get('retry-after') ?? 1);
      await new Promise((r) => setTimeout(r, Math.min(Math.max(seconds, 0.05), 60) * 1000));
    }
  }

  private async grant(form: Record<string, string>): Promise<RESTPostOAuth2AccessTokenResult> {
    const res = await this.post('/oauth2/token', form);
    if (res.status === 400 || res.status === 401) {
      const detail = (await res.json().catch(() => ({}))) as { error?: string };
      throw new GrantRefused(`Discord refused the ${form.grant_type} grant (${res.status} ${detail.error ?? 'no detail'})`);
    }
    if (!res.ok) throw new Error(`Discord's token endpoint answered ${res.status}`);
    return (await res.json()) as RESTPostOAuth2AccessTokenResult;
  }

  exchange(code: string, redirectUri: string): Promise<RESTPostOAuth2AccessTokenResult> {
    return this.grant({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
  }

  refresh(refreshToken: string): Promise<RESTPostOAuth2AccessTokenResult> {
    return this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  /** Revokes the authorization the token belongs to; an already revoked one is fine. */
  async revoke(token: string): Promise<void> {
    const res = await this.post('/oauth2/token/revoke', { token, token_type_hint: 'refresh_token' });
    if (!res.ok && res.status !== 400) throw new Error(`Discord's revoke endpoint answered ${res.status}`);
  }
}
