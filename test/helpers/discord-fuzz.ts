// Generated Discord REST requests for the sim and the proxy's REST entry: real routes with real
// ids and hostile ids, queries, reasons and bodies (wrong types, deep nesting, broken JSON).
import fc from 'fast-check';
import { deeplyNested, hostileJson, hostileString } from './fuzz';
import { wireSafe } from './raw-http';

export interface DiscordIds {
  guild: string;
  channel: string;
  role: string;
  member: string;
}

export interface GeneratedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const FIELDS = ['name', 'type', 'topic', 'nsfw', 'position', 'parent_id', 'permission_overwrites', 'color', 'hoist', 'permissions', 'icon', 'nick', 'roles',
  'communication_disabled_until', 'content', 'embeds', 'allow', 'deny', 'id', 'messages', 'rate_limit_per_user', 'bitrate', 'user_limit', 'mentionable', 'description', 'afk_timeout', 'verification_level'];

const overwrite = fc.record({ id: fc.oneof(hostileString, fc.constant('1')), type: hostileJson, allow: hostileJson, deny: hostileJson }, { requiredKeys: [] });

const body: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom(...FIELDS), hostileJson, { maxKeys: 4 }).map((o) => JSON.stringify(o)),
  fc.record({ permission_overwrites: fc.oneof(fc.array(fc.oneof(overwrite, fc.constant(null)), { maxLength: 3 }), hostileJson) }).map((o) => JSON.stringify(o)),
  fc.array(fc.oneof(fc.constant(null), fc.record({ id: hostileJson, position: hostileJson }, { requiredKeys: [] })), { maxLength: 3 }).map((a) => JSON.stringify(a)),
  hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
  fc.constantFrom(`{"nick":${deeplyNested(50_000)}}`, `{"name":${deeplyNested(5_000)}}`, '{', '{"a":1,}', '\u0000', 'null', '[]', '""', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'),
  hostileString,
);

export function discordRequests(ids: DiscordIds, token: string): fc.Arbitrary<GeneratedRequest> {
  const id = fc.oneof(fc.constantFrom(ids.guild, ids.channel, ids.role, ids.member), hostileString.map(wireSafe));
  const query = fc.dictionary(fc.constantFrom('limit', 'before', 'after', 'around', 'action_type', 'user_id', 'query', 'with_response', 'wait'), hostileString, { maxKeys: 3 })
    .map((q) => (Object.keys(q).length ? `?${Object.entries(q).map(([k, v]) => `${k}=${wireSafe(v)}`).join('&')}` : ''));
  const { guild: g, channel: c, role, member } = ids;
  const endpoint = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(
      ['PATCH', `/guilds/${g}`], ['POST', `/guilds/${g}/channels`], ['PATCH', `/guilds/${g}/channels`], ['POST', `/guilds/${g}/roles`], ['PATCH', `/guilds/${g}/roles`],
      ['PATCH', `/guilds/${g}/roles/${role}`], ['GET', `/guilds/${g}/members`], ['GET', `/guilds/${g}/members/search`], ['PATCH', `/guilds/${g}/members/${member}`],
      ['GET', `/guilds/${g}/audit-logs`], ['GET', `/guilds/${g}/bans`], ['PATCH', `/channels/${c}`], ['GET', `/channels/${c}/messages`], ['POST', `/channels/${c}/messages`],
      ['POST', `/channels/${c}/messages/bulk-delete`], ['PUT', `/channels/${c}/permissions/${role}`], ['POST', `/channels/${c}/webhooks`], ['POST', `/channels/${c}/typing`],
      ['GET', '/users/@me'], ['GET', '/users/@me/guilds'], ['GET', '/gateway/bot'], ['POST', '/webhooks/1/x'], ['POST', '/interactions/1/x/callback'],
    ) },
    { weight: 1, arbitrary: fc.tuple(
      fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'),
      fc.tuple(fc.constantFrom('/guilds/', '/channels/', '/users/', `/guilds/${g}/members/`, `/guilds/${g}/roles/`, '/webhooks/1/'), id, fc.constantFrom('', '/messages', '/roles', '/members/1', '/audit-logs'))
        .map(([a, b, rest]) => `${a}${b}${rest}`),
    ) },
  );
  return fc.record({
    endpoint,
    version: fc.constantFrom('/api/v10', '/api/v9', '/api'),
    query,
    auth: fc.oneof(fc.constant(`Bot ${token}`), fc.constant(`Bot ${token}`), hostileString.map((s) => wireSafe(`Bot ${s}`))),
    reason: fc.option(hostileString.map(wireSafe), { nil: undefined }),
    contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'),
    body,
  }).map((r) => ({
    method: r.endpoint[0],
    path: `${r.version}${r.endpoint[1]}${r.query}`,
    headers: { authorization: r.auth, 'content-type': r.contentType, ...(r.reason === undefined ? {} : { 'x-audit-log-reason': r.reason }) },
    body: r.endpoint[0] === 'GET' ? undefined : r.body,
  }));
}

interface State {
  channels: { id: string; type: number }[];
  roles: { id: string; managed: boolean }[];
  members: { user: { id: string; bot?: boolean } }[];
  guild: { owner_id: string };
}

/** Ids of a guild's text channel, a role and a member (not the owner), from the sim's control API. */
export async function simIds(simUrl: string): Promise<DiscordIds> {
  const guild = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string }[])[0]!.id;
  const state = (await (await fetch(`${simUrl}/_sim/guilds/${guild}/state`)).json()) as State;
  return {
    guild,
    channel: state.channels.find((c) => c.type === 0)!.id,
    role: state.roles.find((r) => !r.managed && r.id !== guild)!.id,
    member: state.members.find((m) => !m.user.bot && m.user.id !== state.guild.owner_id)!.user.id,
  };
}
