// The limits module's settings document (guild_settings, module 'limits'): its rules and who is
// exempt. A rule reads "more than `count` actions of `kind` by one user within `seconds` ->
// `punishment`".
import { z } from 'zod';

export const LIMIT_KINDS = [
  'channel_create', 'channel_update', 'channel_delete',
  'role_create', 'role_update', 'role_delete',
  'member_ban', 'member_kick', 'member_role_update',
  'webhook_create', 'emoji_delete', 'guild_update',
] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];

export const PUNISHMENTS = ['strip_roles', 'timeout', 'kick', 'ban'] as const;
export type Punishment = (typeof PUNISHMENTS)[number];

const snowflake = z.string().regex(/^\d{17,20}$/);
export const MAX_RULES = 25;
export const MAX_SECONDS = 86_400;

export const limitRule = z.object({
  id: z.number().int().positive(),
  kind: z.enum(LIMIT_KINDS),
  count: z.number().int().min(1).max(1000),
  seconds: z.number().int().min(1).max(MAX_SECONDS),
  punishment: z.enum(PUNISHMENTS),
  /** channel_delete / role_delete only: recreate what the user deleted within the window once the rule fires. */
  revert: z.boolean().default(false),
});
export type LimitRule = z.output<typeof limitRule>;
/** The kinds whose `revert` recreates what was deleted. */
export const REVERTIBLE_KINDS: readonly LimitKind[] = ['channel_delete', 'role_delete'];

export const limitsSettings = z.object({
  rules: z.array(limitRule).max(MAX_RULES).default([]),
  /** Rule ids are never reused, so `remove id` cannot hit a rule added after the list was read. */
  next_rule_id: z.number().int().positive().default(1),
  exempt_users: z.array(snowflake).max(100).default([]),
  exempt_roles: z.array(snowflake).max(100).default([]),
});
export type LimitsSettings = z.output<typeof limitsSettings>;
