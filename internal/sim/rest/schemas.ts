// The request shapes the sim accepts, per discord-api-docs: one source for validation. Unknown
// properties are ignored as Discord ignores them (handlers read only the declared ones); a
// declared one of the wrong type, length or range is 50035 naming it (see validationError).
import { type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import type { FastifySchemaValidationError } from 'fastify';
import { EmbedType, Locale } from 'discord-api-types/v10';
import { DiscordError } from './context';

export const Snowflake = Type.String({ pattern: '^[0-9]{1,20}$' });
/** A permission bit set: a string of digits (Discord serialises them as strings). */
export const PermissionBits = Type.String({ pattern: '^[0-9]{1,20}$' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });
const Str = (min: number, max: number) => Type.String({ minLength: min, maxLength: max });
/** A JSON object body (Discord: "Expected an object"). */
const Body = <T extends TProperties>(props: T) => Type.Object(props);
/** An image as a data URI, or null to remove it. */
const Image = Nullable(Type.String({ maxLength: 10 << 20 }));

export const Overwrite = Type.Object({
  id: Snowflake,
  type: Type.Union([Type.Literal(0), Type.Literal(1)]),
  allow: Type.Optional(Nullable(PermissionBits)),
  deny: Type.Optional(Nullable(PermissionBits)),
});

/** Validated overwrites as stored: allow and deny default to "0". */
export function overwrites(list: Static<typeof Overwrite>[] | null | undefined) {
  return (list ?? []).map((o) => ({ id: o.id, type: o.type, allow: o.allow ?? '0', deny: o.deny ?? '0' }));
}

export const GuildPatch = Body({
  name: Type.Optional(Str(2, 100)),
  description: Type.Optional(Nullable(Str(0, 120))),
  icon: Type.Optional(Image),
  banner: Type.Optional(Image),
  splash: Type.Optional(Image),
  verification_level: Type.Optional(Nullable(Int(0, 4))),
  default_message_notifications: Type.Optional(Nullable(Int(0, 1))),
  explicit_content_filter: Type.Optional(Nullable(Int(0, 2))),
  afk_channel_id: Type.Optional(Nullable(Snowflake)),
  afk_timeout: Type.Optional(Type.Union([Type.Literal(60), Type.Literal(300), Type.Literal(900), Type.Literal(1800), Type.Literal(3600)])),
  system_channel_id: Type.Optional(Nullable(Snowflake)),
  rules_channel_id: Type.Optional(Nullable(Snowflake)),
  public_updates_channel_id: Type.Optional(Nullable(Snowflake)),
  preferred_locale: Type.Optional(Nullable(Type.Enum(Locale))),
  premium_progress_bar_enabled: Type.Optional(Type.Boolean()),
  system_channel_flags: Type.Optional(Int(0, 2 ** 31 - 1)),
});

const channelFields = {
  type: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
  topic: Type.Optional(Nullable(Str(0, 4096))),
  position: Type.Optional(Nullable(Int(-(2 ** 31), 2 ** 31 - 1))),
  parent_id: Type.Optional(Nullable(Snowflake)),
  nsfw: Type.Optional(Nullable(Type.Boolean())),
  rate_limit_per_user: Type.Optional(Nullable(Int(0, 21_600))),
  bitrate: Type.Optional(Nullable(Int(8_000, 384_000))),
  user_limit: Type.Optional(Nullable(Int(0, 99))),
  permission_overwrites: Type.Optional(Nullable(Type.Array(Overwrite, { maxItems: 100 }))),
};
export const ChannelCreate = Body({ name: Str(1, 100), ...channelFields });
export const ChannelPatch = Body({ name: Type.Optional(Str(1, 100)), ...channelFields });
export const ChannelPositions = Type.Array(
  Type.Object({ id: Snowflake, position: Type.Optional(Nullable(Int(-(2 ** 31), 2 ** 31 - 1))), parent_id: Type.Optional(Nullable(Snowflake)), lock_permissions: Type.Optional(Nullable(Type.Boolean())) }),
  { maxItems: 500 },
);
export const OverwritePut = Body({ type: Type.Union([Type.Literal(0), Type.Literal(1)]), allow: Type.Optional(Nullable(PermissionBits)), deny: Type.Optional(Nullable(PermissionBits)) });

const roleFields = {
  name: Type.Optional(Nullable(Str(0, 100))),
  permissions: Type.Optional(Nullable(PermissionBits)),
  color: Type.Optional(Nullable(Int(0, 0xffffff))),
  colors: Type.Optional(Nullable(Type.Object({
    primary_color: Type.Optional(Int(0, 0xffffff)),
    secondary_color: Type.Optional(Nullable(Int(0, 0xffffff))),
    tertiary_color: Type.Optional(Nullable(Int(0, 0xffffff))),
  }))),
  hoist: Type.Optional(Nullable(Type.Boolean())),
  icon: Type.Optional(Image),
  unicode_emoji: Type.Optional(Nullable(Str(0, 100))),
  mentionable: Type.Optional(Nullable(Type.Boolean())),
};
export const RoleCreate = Body(roleFields);
export const RolePatch = Body(roleFields);
export const RolePositions = Type.Array(Type.Object({ id: Snowflake, position: Type.Optional(Nullable(Int(-(2 ** 31), 2 ** 31 - 1))) }), { maxItems: 500 });

export const MemberPatch = Body({
  nick: Type.Optional(Nullable(Str(0, 32))),
  roles: Type.Optional(Nullable(Type.Array(Snowflake, { maxItems: 350 }))),
  mute: Type.Optional(Nullable(Type.Boolean())),
  deaf: Type.Optional(Nullable(Type.Boolean())),
  channel_id: Type.Optional(Nullable(Snowflake)),
  communication_disabled_until: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  flags: Type.Optional(Nullable(Int(0, 2 ** 31 - 1))),
});

const EmbedMedia = Type.Object({ url: Type.String({ maxLength: 2048 }) });
/** An embed per discord-api-docs (Embed Structure): what Discord stores of it, with its limits. */
const Embed = Type.Object({
  title: Type.Optional(Str(0, 256)),
  type: Type.Optional(Type.Enum(EmbedType)),
  description: Type.Optional(Str(0, 4096)),
  url: Type.Optional(Type.String({ maxLength: 2048 })),
  timestamp: Type.Optional(Type.String({ format: 'date-time' })),
  color: Type.Optional(Int(0, 0xffffff)),
  footer: Type.Optional(Type.Object({ text: Str(0, 2048), icon_url: Type.Optional(Type.String({ maxLength: 2048 })) })),
  image: Type.Optional(EmbedMedia),
  thumbnail: Type.Optional(EmbedMedia),
  author: Type.Optional(Type.Object({ name: Str(0, 256), url: Type.Optional(Type.String({ maxLength: 2048 })), icon_url: Type.Optional(Type.String({ maxLength: 2048 })) })),
  fields: Type.Optional(Type.Array(Type.Object({ name: Str(0, 256), value: Str(0, 1024), inline: Type.Optional(Type.Boolean()) }), { maxItems: 25 })),
});
const Embeds = Type.Array(Embed, { maxItems: 10 });
const messageFields = {
  content: Type.Optional(Nullable(Str(0, 2000))),
  embeds: Type.Optional(Nullable(Embeds)),
  flags: Type.Optional(Nullable(Int(0, 2 ** 31 - 1))),
  allowed_mentions: Type.Optional(Nullable(Type.Object({}))),
  components: Type.Optional(Nullable(Type.Array(Type.Object({}), { maxItems: 40 }))),
};
export const MessageCreate = Body({
  ...messageFields,
  nonce: Type.Optional(Type.Union([Type.Integer(), Str(0, 25)])),
  tts: Type.Optional(Type.Boolean()),
  message_reference: Type.Optional(Nullable(Type.Object({ message_id: Type.Optional(Snowflake), channel_id: Type.Optional(Snowflake), guild_id: Type.Optional(Snowflake) }))),
  sticker_ids: Type.Optional(Type.Array(Snowflake, { maxItems: 3 })),
});
export const MessagePatch = Body(messageFields);
export const BulkDelete = Body({ messages: Type.Array(Snowflake, { minItems: 2, maxItems: 100 }) });
export const WebhookCreate = Body({ name: Str(1, 80), avatar: Type.Optional(Image) });
export const WebhookExecute = Body({ ...messageFields, username: Type.Optional(Str(1, 80)), avatar_url: Type.Optional(Str(0, 2048)), tts: Type.Optional(Type.Boolean()) });
export const BanPut = Type.Union([
  Type.Null(),
  Body({ delete_message_days: Type.Optional(Int(0, 7)), delete_message_seconds: Type.Optional(Int(0, 604_800)) }),
]);
export const InteractionCallback = Body({ type: Type.Integer(), data: Type.Optional(Nullable(Type.Object(messageFields))) });
const CommandBody = Type.Object({
  name: Str(1, 32),
  type: Type.Optional(Int(1, 4)),
  description: Type.Optional(Str(0, 100)),
  options: Type.Optional(Type.Array(Type.Object({}), { maxItems: 25 })),
  default_member_permissions: Type.Optional(Nullable(PermissionBits)),
  dm_permission: Type.Optional(Nullable(Type.Boolean())),
  nsfw: Type.Optional(Type.Boolean()),
});
export const CommandCreate = CommandBody;
export const CommandPatch = Type.Partial(CommandBody);
export const CommandsPut = Type.Array(CommandBody, { maxItems: 100 });

export const AuditLogQuery = Type.Object({
  limit: Type.Optional(Int(1, 100)),
  action_type: Type.Optional(Int(0, 255)),
  user_id: Type.Optional(Snowflake),
  before: Type.Optional(Snowflake),
  after: Type.Optional(Snowflake),
});
export const MessagesQuery = Type.Object({ limit: Type.Optional(Int(1, 100)), before: Type.Optional(Snowflake), after: Type.Optional(Snowflake), around: Type.Optional(Snowflake) });
export const MembersQuery = Type.Object({ limit: Type.Optional(Int(1, 1000)), after: Type.Optional(Snowflake) });
export const MemberSearchQuery = Type.Object({ query: Str(0, 100), limit: Type.Optional(Int(1, 1000)) });
export const WaitQuery = Type.Object({ wait: Type.Optional(Type.Boolean()), thread_id: Type.Optional(Snowflake) });
export const WithResponseQuery = Type.Object({ with_response: Type.Optional(Type.Boolean()) });

/** Nesting depth of a JSON text, counted without parsing (so a 50,000-deep body costs no recursion). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Deeper bodies than any Discord payload needs are refused before parsing. */
export const MAX_JSON_DEPTH = 32;

/** Discord's 50035 for a failed schema: the field's path in `errors`, with Discord's codes. */
export function validationError(errors: FastifySchemaValidationError[], data: unknown): DiscordError {
  const e = errors[0];
  const path = (e?.instancePath ?? '').split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let code = 'BASE_TYPE_INVALID';
  let message = e?.message ?? 'Invalid value.';
  const value = path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), data);
  const shown = typeof value === 'string' ? value.slice(0, 100) : value !== null && typeof value === 'object' ? (Array.isArray(value) ? '[...]' : '{...}') : String(value);
  switch (e?.keyword) {
    case 'required':
      path.push(String(e.params.missingProperty));
      code = 'BASE_TYPE_REQUIRED';
      message = 'This field is required';
      break;
    case 'type':
      if (e.params.type === 'object') [code, message] = ['DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType'];
      else if (e.params.type === 'array') [code, message] = ['LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType'];
      else if (e.params.type === 'string') [code, message] = ['STRING_TYPE_CONVERT', `Could not interpret "${shown}" as string.`];
      else if (e.params.type === 'boolean') [code, message] = ['BOOLEAN_TYPE_CONVERT', 'Must be either true or false.'];
      else [code, message] = ['NUMBER_TYPE_COERCE', `Value "${shown}" is not int.`];
      break;
    case 'pattern':
      [code, message] = ['NUMBER_TYPE_COERCE', `Value "${shown}" is not ${/^(allow|deny|permissions|default_member_permissions)$/.test(path.at(-1) ?? '') ? 'a permission bit set' : 'snowflake'}.`];
      break;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      code = 'BASE_TYPE_BAD_LENGTH';
      message = `Must be ${e.keyword.startsWith('min') ? 'at least' : 'at most'} ${String(e.params.limit)} in length.`;
      break;
    case 'minimum':
      [code, message] = ['NUMBER_TYPE_MIN', `int value should be greater than or equal to ${String(e.params.limit)}.`];
      break;
    case 'maximum':
      [code, message] = ['NUMBER_TYPE_MAX', `int value should be less than or equal to ${String(e.params.limit)}.`];
      break;
    case 'const':
    case 'anyOf':
      [code, message] = ['BASE_TYPE_CHOICES', `Value "${shown}" is not a valid choice.`];
      break;
    case 'format':
      [code, message] = ['DATE_TYPE_PARSE', `Could not parse "${shown}". Should be ISO8601.`];
      break;
  }
  const errorsObject: Record<string, unknown> = {};
  let node = errorsObject;
  if (path.length === 0) path.push('_errors');
  path.forEach((part, i) => {
    if (i === path.length - 1) node[part] = part === '_errors' ? [{ code, message }] : { _errors: [{ code, message }] };
    else node = (node[part] = {}) as Record<string, unknown>;
  });
  return new DiscordError(400, 50035, 'Invalid Form Body', errorsObject);
}
