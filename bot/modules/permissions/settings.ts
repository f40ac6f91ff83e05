// The permissions module's settings document (guild_settings, module 'permissions'): per command,
// roles explicitly allowed or denied, on top of the command's default_member_permissions.
import { z } from 'zod';

export const commandOverride = z.object({
  command: z.string().regex(/^[\w-]{1,32}$/),
  role_id: z.string().regex(/^\d{17,20}$/),
  allow: z.boolean(),
});
export type CommandOverride = z.output<typeof commandOverride>;

export const permissionsSettings = z.object({
  overrides: z.array(commandOverride).max(500).default([]),
});
