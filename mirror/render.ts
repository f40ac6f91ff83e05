// What a mirrored message looks like in the target: the author's name and avatar on the webhook,
// the content, rich embeds, attachments as links, a reply as a quoted line, and no mentions.
import { type APIEmbed, type APIMessage, type APIUser, EmbedType, MessageType, type RESTPostAPIWebhookWithTokenJSONBody } from 'discord-api-types/v10';

const MAX_CONTENT = 2000;
const MAX_EMBEDS = 10;

export interface RenderContext {
  /** CDN base, e.g. https://cdn.discordapp.com */
  cdn: string;
  /** A link to the reply's target in the target channel, when the replied-to message was mirrored there. */
  replyLink?: string;
}

type Source = Pick<APIMessage, 'content' | 'embeds' | 'attachments' | 'type' | 'referenced_message'> & { author: APIUser; member?: { nick?: string | null } };

/** Discord refuses webhook names containing "discord" or "clyde" (50035): those letters are spaced. */
export function webhookName(author: APIUser, nick?: string | null): string {
  const name = (nick || author.global_name || author.username || 'unknown').replace(/discord|clyde/gi, (w) => `${w[0]}\u200b${w.slice(1)}`);
  return [...name].slice(0, 80).join('');
}

export function avatarUrl(author: APIUser, cdn: string): string {
  if (author.avatar) return `${cdn}/avatars/${author.id}/${author.avatar}.png`;
  return `${cdn}/embed/avatars/${Number((BigInt(author.id) >> 22n) % 6n)}.png`;
}

/** The body of Execute Webhook; undefined when the message has nothing a webhook can post. */
export function renderCreate(message: Source, ctx: RenderContext): RESTPostAPIWebhookWithTokenJSONBody | undefined {
  const body = renderEdit(message, ctx);
  if (!body) return undefined;
  return { ...body, username: webhookName(message.author, message.member?.nick), avatar_url: avatarUrl(message.author, ctx.cdn) };
}

/** The body of Edit Webhook Message (content, embeds, mentions); undefined when nothing is left. */
export function renderEdit(message: Partial<Source>, ctx: RenderContext): { content: string; embeds: APIEmbed[]; allowed_mentions: { parse: [] } } | undefined {
  const lines: string[] = [];
  if (message.type === MessageType.Reply) lines.push(replyLine(message.referenced_message ?? undefined, ctx.replyLink));
  if (message.content) lines.push(message.content);
  for (const a of message.attachments ?? []) lines.push(a.url);
  const embeds = (message.embeds ?? []).filter((e) => e.type === undefined || e.type === EmbedType.Rich).slice(0, MAX_EMBEDS);
  const content = truncate(lines.join('\n'));
  if (!content && embeds.length === 0) return undefined;
  return { content, embeds, allowed_mentions: { parse: [] } };
}

function replyLine(replied: APIMessage | undefined, link: string | undefined): string {
  const who = replied ? `**${webhookName(replied.author)}**` : 'a message';
  const snippet = replied?.content ? `: ${truncate(replied.content.replace(/\s+/g, ' '), 80)}` : '';
  return `> ↪ Replying to ${who}${snippet}${link ? ` (${link})` : ''}`;
}

function truncate(text: string, max = MAX_CONTENT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
