// What the webserver asks Discord: the user's guilds (with their OAuth2 token), the bot's guilds,
// and whether a user may manage a guild, worked out from the guild's roles as the bot sees them
// (so a session and an API token are checked alike), cached briefly in Redis.
import { DiscordAPIError, REST } from '@discordjs/rest';
import { type APIGuild, type APIGuildMember, ChannelType, type RESTGetAPICurrentUserGuildsResult, type RESTGetAPIGuildChannelsResult, PermissionFlagsBits, Routes } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import type { Config } from '../internal/config';
import { Unavailable } from '../internal/http/service';
import { ApiError } from './api/errors';
import { within } from './dependency';

/** How long a Manage Server answer is trusted: a revoked role stops working within this. */
export const MANAGE_CACHE_S = 30;
const BOT_GUILDS_CACHE_MS = 30_000;

const unavailable = (what: string, err: unknown) => new Unavailable(`Discord could not be asked ${what}; try again shortly`, { cause: err });

/** Manage Server (or Administrator, or ownership) from the guild's roles. */
export function canManageGuild(guild: Pick<APIGuild, 'id' | 'owner_id' | 'roles'>, member: Pick<APIGuildMember, 'roles'>, userId: string): boolean {
  if (guild.owner_id === userId) return true;
  const held = new Set([guild.id, ...member.roles]);
  const bits = guild.roles.filter((r) => held.has(r.id)).reduce((acc, r) => acc | BigInt(r.permissions), 0n);
  return (bits & (PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild)) !== 0n;
}

export function discordClient(config: Config, redis: Redis) {
  const api = config.discord_auth.api_url.replace(/\/$/, '');
  const rest = new REST({ api, timeout: 10_000, retries: 1, hashSweepInterval: 0, handlerSweepInterval: 0 }).setToken(config.discord_auth.token);
  let botGuilds: { at: number; ids: Promise<Set<string>> } | undefined;

  const fetchBotGuilds = async () => {
    const ids = new Set<string>();
    for (let after = '0'; ;) {
      const page = (await rest.get(Routes.userGuilds(), { query: new URLSearchParams({ limit: '200', after }) })) as RESTGetAPICurrentUserGuildsResult;
      for (const g of page) ids.add(g.id);
      if (page.length < 200) return ids;
      after = page.at(-1)!.id;
    }
  };

  return {
    /** The user's guilds, asked of Discord with their access token. */
    async userGuilds(accessToken: string): Promise<RESTGetAPICurrentUserGuildsResult> {
      const res = await fetch(`${api}/v10/users/@me/guilds`, { headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
        throw unavailable('for your servers', err);
      });
      if (res.status === 401) throw new ApiError(401, 'login_required', 'Discord refused your access: log in again at /auth/login');
      if (!res.ok) throw unavailable(`for your servers (it answered ${res.status})`, undefined);
      return (await res.json()) as RESTGetAPICurrentUserGuildsResult;
    },

    async botGuildIds(): Promise<Set<string>> {
      if (!botGuilds || Date.now() - botGuilds.at > BOT_GUILDS_CACHE_MS) {
        const ids = fetchBotGuilds();
        botGuilds = { at: Date.now(), ids };
        ids.catch(() => (botGuilds = undefined));
      }
      return botGuilds.ids.catch((err: unknown) => {
        throw unavailable("for the bot's servers", err);
      });
    },

    /** The server as the settings pages need it: its text channels (for the mod log) and roles. */
    async guildSummary(guildId: string) {
      try {
        const [guild, channels] = (await Promise.all([rest.get(Routes.guild(guildId)), rest.get(Routes.guildChannels(guildId))])) as [APIGuild, RESTGetAPIGuildChannelsResult];
        return {
          id: guild.id, name: guild.name, icon: guild.icon,
          channels: channels.filter((c) => c.type === ChannelType.GuildText || c.type === ChannelType.GuildAnnouncement).map((c) => ({ id: c.id, name: c.name })),
          roles: guild.roles.filter((r) => r.id !== guild.id && !r.managed).sort((a, b) => b.position - a.position).map((r) => ({ id: r.id, name: r.name })),
        };
      } catch (err) {
        if (err instanceof DiscordAPIError && (err.status === 403 || err.status === 404)) throw new ApiError(404, 'unknown_guild', `the bot is not in server ${guildId}`);
        throw unavailable(`about server ${guildId}`, err);
      }
    },

    /** Throws 403 unless the user has Manage Server in the guild (404 when the bot is not in it). */
    async requireManage(guildId: string, userId: string): Promise<void> {
      const cacheKey = `splashtail:web:manage:${guildId}:${userId}`;
      let verdict = await within('Redis', redis.get(cacheKey));
      if (verdict === null) {
        verdict = await this.manageVerdict(guildId, userId);
        await within('Redis', redis.set(cacheKey, verdict, 'EX', MANAGE_CACHE_S));
      }
      if (verdict === 'no-bot') throw new ApiError(404, 'unknown_guild', `the bot is not in server ${guildId}`);
      if (verdict !== 'yes') throw new ApiError(403, 'missing_permissions', `you need Manage Server in server ${guildId}`);
    },

    async manageVerdict(guildId: string, userId: string): Promise<'yes' | 'no' | 'no-bot'> {
      try {
        const guild = (await rest.get(Routes.guild(guildId))) as APIGuild;
        const member = (await rest.get(Routes.guildMember(guildId, userId)).catch((err: unknown) => {
          if (err instanceof DiscordAPIError && err.status === 404) return undefined;
          throw err;
        })) as APIGuildMember | undefined;
        return member && canManageGuild(guild, member, userId) ? 'yes' : 'no';
      } catch (err) {
        if (err instanceof DiscordAPIError && (err.status === 403 || err.status === 404)) return 'no-bot';
        throw unavailable(`about server ${guildId}`, err);
      }
    },
  };
}

export type DiscordClient = ReturnType<typeof discordClient>;
