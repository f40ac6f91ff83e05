// The moderation module's settings document (guild_settings, module 'moderation').
import { z } from 'zod';

export const moderationSettings = z.object({
  /** Channel that gets one message per case; null: no mod log. */
  modlog_channel_id: z.string().regex(/^\d{17,20}$/).nullable().default(null),
});
