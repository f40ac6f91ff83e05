// The body of POST /tasks, one schema per task kind: the single source of validation, of the
// handlers' option types and of the OpenAPI document. The kinds form a union discriminated by
// `name` (OpenAPI's `discriminator`), so a bad `data` is named against its own kind's schema.
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';

import { UUID } from '../internal/task-id';

export { UUID };
export const Snowflake = Type.String({ pattern: '^\\d{1,20}$', description: 'a Discord id' });
const Password = Type.String({ minLength: 1, maxLength: 256, writeOnly: true, description: 'the archive password (AES-256-GCM); never shown by GET /tasks' });

export const BackupData = Type.Object(
  {
    messages_per_channel: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: 100, description: 'messages kept per text channel' })),
    max_messages: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 5_000, description: 'messages kept in all' })),
    backup_messages: Type.Optional(Type.Boolean({ default: true, description: 'false: settings, roles and channels only' })),
    backup_attachments: Type.Optional(Type.Boolean({ description: 'download message attachments into the archive' })),
    backup_guild_assets: Type.Optional(Type.Union([Type.Boolean(), Type.Array(Type.Union([Type.Literal('icon'), Type.Literal('banner'), Type.Literal('splash')]), { uniqueItems: true })], { description: 'guild images to keep: true for all, or a list of icon, banner, splash' })),
    rollover_leftovers: Type.Optional(Type.Boolean({ description: 'a channel with fewer messages than its quota passes the rest on to the next channels' })),
    special_allocations: Type.Optional(Type.Record(Type.String({ pattern: '^\\d{1,20}$' }), Type.Integer({ minimum: 0, maximum: 10_000 }), { additionalProperties: false, description: 'per-channel quotas that replace messages_per_channel: {<channel id>: count}' })),
    password: Type.Optional(Password),
  },
  { additionalProperties: false, description: 'guild_create_backup options' },
);

export const RestoreData = Type.Object(
  {
    backup_task_id: Type.String({ pattern: UUID, description: 'the id of a completed guild_create_backup task' }),
    password: Type.Optional(Password),
    channel_mode: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('ignore_existing')], { description: 'full: also delete channels and roles the backup does not have' })),
    protected_channels: Type.Optional(Type.Array(Snowflake, { maxItems: 500, description: 'channels full mode keeps' })),
    protected_roles: Type.Optional(Type.Array(Snowflake, { maxItems: 250, description: 'roles full mode keeps' })),
    requested_by: Type.Optional({ ...Snowflake, description: 'the user asking; required to restore a backup of another guild: they must own both' }),
  },
  { additionalProperties: false, description: 'guild_restore_backup options' },
);

export const MemberRestoreData = Type.Object(
  {
    backup_task_id: Type.Optional(Type.String({ pattern: UUID, description: 'a completed guild_create_backup task: members get back the roles it saved (matched by id, else by name)' })),
    password: Type.Optional(Password),
    requested_by: Type.Optional({ ...Snowflake, description: 'the user asking; required with a backup of another guild: they must own both' }),
  },
  { additionalProperties: false, description: 'guild_member_restore options' },
);

export type BackupOptions = Static<typeof BackupData>;
export type MemberRestoreOptions = Static<typeof MemberRestoreData>;
export type RestoreOptions = Static<typeof RestoreData>;

const envelope = {
  for: Type.String({ pattern: '^(g/|u/)?\\d{1,20}$', description: 'guild id (or g/<id>, u/<id>)' }),
  execute: Type.Optional(Type.Boolean({ default: true, description: 'false: create it pending, run it with POST /tasks/{id}/execute' })),
  expiry_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000, description: 'delete the task and its output after this long' })),
};

const kind = <N extends string, D extends TSchema>(name: N, data: D, summary: string) =>
  Type.Object({ name: Type.Literal(name, { description: 'task kind' }), ...envelope, data }, { additionalProperties: false, title: name, description: summary });

export const CreateTask = Type.Union(
  [
    kind('guild_create_backup', Type.Optional(BackupData), 'Back up a guild into one archive file (download it from /tasks/{id}/download-url)'),
    kind('guild_restore_backup', RestoreData, 'Restore a completed backup into the guild'),
    kind('guild_member_restore', Type.Optional(MemberRestoreData), 'Put back into the guild every user who opted in (GET /auth/member-restore on the webserver) and is not in it'),
  ],
  { discriminator: { propertyName: 'name' } },
);
export type CreateTaskBody = Static<typeof CreateTask>;

/** For a union with a `discriminator`, the variant a value names (undefined: none); else the schema itself. */
export function variantFor(schema: TSchema, value: unknown): { variant?: TSchema; property?: string; names?: string[] } {
  const discriminator = (schema as { discriminator?: { propertyName: string } }).discriminator;
  if (!discriminator || !Array.isArray(schema.anyOf)) return { variant: schema };
  const property = discriminator.propertyName;
  const variants = schema.anyOf as TObject[];
  const names = variants.map((v) => String((v.properties[property] as { const?: unknown }).const));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { variant: variants[0], property, names };
  const named = (value as Record<string, unknown>)[property];
  return { variant: variants.find((v) => (v.properties[property] as { const?: unknown }).const === named), property, names };
}
