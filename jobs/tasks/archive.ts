// The backup archive: one file, `splashtail-backup/1`:
//   plain:     {"format":"splashtail-backup/1","encrypted":false,"backup":{...}}
//   encrypted: {"format":"splashtail-backup/1","encrypted":true,"salt","iv","tag","data"} where
//              data is AES-256-GCM of the backup JSON with a key derived by scrypt from the password.
// backup = {options, guild, roles, channels (with permission_overwrites), messages: {<channel id>: [...]},
//           attachments?: {<id>: {filename, content_type, data (base64)}}, assets?: {icon, banner, splash (data URIs)},
//           members?: [{id, roles}], meta}.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

export const FORMAT = 'splashtail-backup/1';

export interface Backup {
  options: Record<string, unknown>;
  guild: Record<string, unknown>;
  roles: { id: string; name: string; position: number; permissions: string; color: number; hoist: boolean; mentionable: boolean; managed: boolean }[];
  channels: { id: string; name: string; type: number; position: number; parent_id: string | null; topic?: string | null; nsfw?: boolean; permission_overwrites: { id: string; type: number; allow: string; deny: string }[] }[];
  messages: Record<string, { id: string; content: string; author: { id: string; username: string; avatar: string | null }; timestamp: string; attachments?: { id: string; filename: string }[] }[]>;
  /** Attachment files by attachment id (with `backup_attachments`). */
  attachments?: Record<string, { filename: string; content_type: string; data: string }>;
  /** Each member's roles when the backup was made (for member restore); absent in older backups. */
  members?: { id: string; roles: string[] }[];
  /** Guild images as data URIs (with `backup_guild_assets`). */
  assets?: Partial<Record<'icon' | 'banner' | 'splash', string>>;
  /** skipped_channels: text channels whose messages could not be read (absent from `messages`). */
  meta: { guild_id: string; created_at: string; message_count: number; skipped_channels?: SkippedChannel[] };
}

export interface SkippedChannel {
  id: string;
  name: string;
  reason: string;
}

export function encode(backup: Backup, password?: string): Buffer {
  const json = JSON.stringify(backup);
  if (!password) return Buffer.from(JSON.stringify({ format: FORMAT, encrypted: false, backup }));
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', scryptSync(password, salt, 32), iv);
  const data = Buffer.concat([cipher.update(json), cipher.final()]);
  return Buffer.from(JSON.stringify({ format: FORMAT, encrypted: true, salt: salt.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') }));
}

export function decode(file: Buffer, password?: string): Backup {
  const doc = JSON.parse(file.toString('utf8')) as { format?: string; encrypted?: boolean; backup?: Backup; salt?: string; iv?: string; tag?: string; data?: string };
  if (doc.format !== FORMAT) throw new Error(`not a ${FORMAT} archive`);
  if (!doc.encrypted) return doc.backup!;
  if (!password) throw new Error('the backup is encrypted: a password is needed');
  const decipher = createDecipheriv('aes-256-gcm', scryptSync(password, Buffer.from(doc.salt!, 'base64'), 32), Buffer.from(doc.iv!, 'base64'));
  decipher.setAuthTag(Buffer.from(doc.tag!, 'base64'));
  try {
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(doc.data!, 'base64')), decipher.final()]).toString('utf8'));
  } catch {
    throw new Error('wrong password for this backup');
  }
}
