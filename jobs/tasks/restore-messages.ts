// Replaying a channel's backed-up messages without posting any twice. A backup message is already
// in the target channel when its id is there (a restore into the guild it came from, whose channel
// survived) or when a webhook posted a message with its author's name and content (an earlier
// restore, of this backup or another of the same guild, possibly by a jobserver that died
// mid-channel). Only the others are posted, in order, through the restore's webhook; the channel
// is read again on each attempt, so a take-over starts from what is really there.
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { Backup } from './archive';
import { avatarUrl } from './avatar-url';

type Message = Backup['messages'][string][number];
interface Seen {
  id: string;
  content: string;
  webhook_id?: string;
  author: { username: string };
}

const key = (username: string, content: string) => `${username}\u0000${content}`;

/** Every message of the channel newer than `afterId`, paging forward 100 at a time. */
async function messagesAfter(rest: REST, channelId: string, afterId: bigint): Promise<Seen[]> {
  const all: Seen[] = [];
  let after = afterId;
  for (;;) {
    const query = new URLSearchParams({ limit: '100', after: after.toString() });
    const page = (await rest.get(Routes.channelMessages(channelId), { query })) as Seen[];
    all.push(...page);
    if (page.length < 100) return all;
    after = page.reduce((max, m) => (BigInt(m.id) > max ? BigInt(m.id) : max), after);
  }
}

/** The messages of `messages` (oldest first) not yet in the channel, in their order. */
export async function missingMessages(rest: REST, channelId: string, messages: Message[]): Promise<Message[]> {
  if (!messages.length) return [];
  // Originals are at least as new as the oldest backed-up message, replays newer still.
  const oldest = messages.reduce((min, m) => (BigInt(m.id) < min ? BigInt(m.id) : min), BigInt(messages[0]!.id));
  const present = await messagesAfter(rest, channelId, oldest - 1n);
  const ids = new Set(present.map((m) => m.id));
  const replays = new Map<string, number>();
  for (const m of present) if (m.webhook_id) replays.set(key(m.author.username, m.content), (replays.get(key(m.author.username, m.content)) ?? 0) + 1);
  return messages.filter((m) => {
    if (ids.has(m.id)) return false;
    const left = replays.get(key(m.author.username, m.content)) ?? 0;
    if (left === 0) return true;
    replays.set(key(m.author.username, m.content), left - 1);
    return false;
  });
}

/** Posts `messages` through the channel's restore webhook (created on first need); returns how many. */
export async function replay(rest: REST, cdn: string, channelId: string, hookName: string, messages: Message[]): Promise<number> {
  if (!messages.length) return 0;
  const hooks = (await rest.get(Routes.channelWebhooks(channelId))) as { id: string; token: string; name: string }[];
  const hook = hooks.find((h) => h.name === hookName) ?? ((await rest.post(Routes.channelWebhooks(channelId), { body: { name: hookName } })) as { id: string; token: string });
  for (const m of messages) {
    await rest.post(Routes.webhook(hook.id, hook.token), {
      body: { content: m.content, username: m.author.username, avatar_url: avatarUrl(cdn, m.author), allowed_mentions: { parse: [] } },
      auth: false,
    });
  }
  return messages.length;
}
