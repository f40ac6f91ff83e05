// What every REST route of the sim needs: who is asking, Discord's error shape, lookups
// that answer with Discord's "Unknown ..." codes, and permission checks.
import { timingSafeEqual } from 'node:crypto';
import type { APIOverwrite } from 'discord-api-types/v10';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { basePermissions, channelPermissions, highestRolePosition, ungrantableOverwriteBits, ungrantableRoleBits } from '../permissions';
import type { SimGuild, SimWorld } from '../world';
import type { AccessGrant, Grant } from './oauth2';

export class DiscordError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }
}

// Discord's texts: "Unknown interaction" and "Unknown application command" in lower case, the rest capitalised.
export const unknown = (what: 'Channel' | 'Guild' | 'Message' | 'Role' | 'Member' | 'User' | 'Ban' | 'Webhook' | 'Interaction' | 'Application Command' | 'Overwrite') =>
  new DiscordError(404, UNKNOWN_CODES[what], what === 'Interaction' || what === 'Application Command' ? `Unknown ${what.toLowerCase()}` : `Unknown ${what}`);
const UNKNOWN_CODES = { Channel: 10003, Guild: 10004, Message: 10008, Role: 10011, Member: 10007, User: 10013, Ban: 10026, Webhook: 10015, Interaction: 10062, 'Application Command': 10063, Overwrite: 10009 } as const;

export const missingPermissions = () => new DiscordError(403, 50013, 'Missing Permissions');
export const missingAccess = () => new DiscordError(403, 50001, 'Missing Access');

/** 50035 with Discord's nested `errors` shape for one field. */
export function invalidForm(field: string, message: string, code = 'BASE_TYPE_INVALID'): DiscordError {
  const errors: Record<string, unknown> = {};
  let node = errors;
  const parts = field.split('.');
  parts.forEach((part, i) => {
    node[part] = i === parts.length - 1 ? { _errors: [{ code, message }] } : {};
    node = node[part] as Record<string, unknown>;
  });
  return new DiscordError(400, 50035, 'Invalid Form Body', errors);
}

export function sendError(reply: FastifyReply, err: DiscordError): FastifyReply {
  return reply.status(err.status).send({ message: err.message, code: err.code, ...(err.errors ? { errors: err.errors } : {}) });
}

export interface Actor {
  userId: string;
  kind: 'bot' | 'bearer';
}

/** How long after INTERACTION_CREATE the first response may come, and the token stays valid. */
export interface InteractionDeadlines {
  responseMs: number;
  tokenMs: number;
}
export const DISCORD_INTERACTION_DEADLINES: InteractionDeadlines = { responseMs: 3_000, tokenMs: 15 * 60_000 };

export interface SimContext {
  world: SimWorld;
  interactionDeadlines: InteractionDeadlines;
  /** OAuth2 access tokens -> user id. */
  bearerTokens: Map<string, string>;
  oauthCodes: Map<string, Grant>;
  /** OAuth2 access tokens -> their user, scopes and expiry. */
  accessTokens: Map<string, AccessGrant>;
  refreshTokens: Map<string, { userId: string; scope: string }>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The caller, from `Authorization: Bot <token>` or `Bearer <oauth2 token>`; 401 otherwise. */
export function actor(ctx: SimContext, req: FastifyRequest): Actor {
  const header = req.headers.authorization ?? '';
  const [scheme, token = ''] = header.split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bot' && safeEqual(token, ctx.world.token)) return { userId: ctx.world.botUser.id, kind: 'bot' };
  if (scheme?.toLowerCase() === 'bearer') {
    const userId = ctx.bearerTokens.get(token);
    if (userId) return { userId, kind: 'bearer' };
  }
  throw new DiscordError(401, 0, '401: Unauthorized');
}

export function guildOf(ctx: SimContext, guildId: string): SimGuild {
  const g = ctx.world.guild(guildId);
  if (!g) throw unknown('Guild');
  return g;
}

export function channelOf(ctx: SimContext, channelId: string): { g: SimGuild; channel: Record<string, unknown> & { id: string; type: number } } {
  const g = ctx.world.channelGuild(channelId);
  const channel = g?.channels.get(channelId);
  if (!g || !channel) throw unknown('Channel');
  return { g, channel: channel as never };
}

/** The bot (or user) must be in the guild and hold every permission in `perms`. */
export function need(g: SimGuild, userId: string, perms: bigint, channelId?: string): void {
  if (!g.members.has(userId)) throw missingAccess();
  const have = channelId ? channelPermissions(g, userId, channelId) : basePermissions(g, userId);
  if (channelId && !(have & 0x400n)) throw missingAccess();
  if ((have & perms) !== perms) throw missingPermissions();
}

/** Editing a role or a member needs a highest role above the target's. */
export function needAbove(g: SimGuild, userId: string, position: number): void {
  if (highestRolePosition(g, userId) <= position) throw missingPermissions();
}

/** A role may carry only permissions the actor holds (50013 otherwise). */
export function needRoleGrant(g: SimGuild, userId: string, bits: bigint): void {
  if (ungrantableRoleBits(g, userId, bits)) throw missingPermissions();
}

/** The bits `next` adds to `current` (by overwrite id) must be ones the actor may grant there. */
export function needOverwriteGrant(g: SimGuild, userId: string, next: APIOverwrite[], current: APIOverwrite[], channelId?: string, parentId?: string | null): void {
  let added = 0n;
  for (const o of next) {
    const old = current.find((c) => c.id === o.id);
    added |= (BigInt(o.allow) & ~BigInt(old?.allow ?? '0')) | (BigInt(o.deny) & ~BigInt(old?.deny ?? '0'));
  }
  if (ungrantableOverwriteBits(g, userId, added, channelId, parentId)) throw missingPermissions();
}

export function body<T = Record<string, unknown>>(req: FastifyRequest): T {
  const b = req.body;
  if (b === undefined || b === null) return {} as T;
  if (typeof b !== 'object' || Array.isArray(b)) throw invalidForm('_root', 'Must be a JSON object.');
  return b as T;
}

/** X-Audit-Log-Reason: URL-encoded by clients; kept as sent when it is not valid encoding. At most 512 characters. */
/** A deleted object's fields as an audit entry's changes (old values only), those it has of `keys`. */
export function deletedFields(object: object, keys: readonly string[]): { key: string; old_value: unknown }[] {
  const fields = object as Record<string, unknown>;
  return keys.filter((key) => fields[key] !== undefined).map((key) => ({ key, old_value: fields[key] }));
}

export function auditReason(req: FastifyRequest): string | undefined {
  const raw = req.headers['x-audit-log-reason'];
  if (typeof raw !== 'string') return undefined;
  let reason = raw;
  try {
    reason = decodeURIComponent(raw);
  } catch {
    // not percent-encoding: the header as sent
  }
  return reason.slice(0, 512);
}

export function str(value: unknown, field: string, { min = 0, max = 2000, optional = false } = {}): string | undefined {
  if (value === undefined || value === null) {
    if (optional) return undefined;
    throw invalidForm(field, 'This field is required', 'BASE_TYPE_REQUIRED');
  }
  if (typeof value !== 'string') throw invalidForm(field, 'Could not interpret the value as string.');
  if (value.length < min || value.length > max) throw invalidForm(field, `Must be between ${min} and ${max} in length.`, 'BASE_TYPE_BAD_LENGTH');
  return value;
}
