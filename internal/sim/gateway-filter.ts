// What one session sees of a world dispatch: Discord's shard routing, intent filtering
// (with its exceptions) and MESSAGE_CONTENT blanking.
import { GatewayIntentBits, shardFor } from '../gateway/protocol';
import type { SimDispatch } from './contract';

interface Viewer {
  shardId: number;
  shardCount: number;
  intents: number;
}

/** Whether the dispatch goes to this session at all. */
export function routesTo(event: SimDispatch, session: Viewer, botId: string): boolean {
  if (shardFor(event.guildId, session.shardCount) !== session.shardId) return false;
  if (event.intents === undefined || (event.intents & session.intents) !== 0) return true;
  // GUILD_MEMBER_UPDATE for the bot itself is sent whatever the intents.
  return event.t === 'GUILD_MEMBER_UPDATE' && (event.d as { user?: { id?: string } }).user?.id === botId;
}

/**
 * The payload the session gets. Without MESSAGE_CONTENT, guild messages neither by nor
 * mentioning the bot arrive with content, embeds, attachments, components and poll blanked.
 */
export function payloadFor(event: SimDispatch, session: Viewer, botId: string): unknown {
  if ((event.t !== 'MESSAGE_CREATE' && event.t !== 'MESSAGE_UPDATE') || session.intents & GatewayIntentBits.MessageContent) return event.d;
  const d = event.d as { author?: { id: string }; mentions?: { id: string }[]; guild_id?: string; poll?: unknown };
  if (!d.guild_id || d.author?.id === botId || d.mentions?.some((m) => m.id === botId)) return event.d;
  const { poll: _poll, ...rest } = d;
  return { ...rest, content: '', embeds: [], attachments: [], components: [] };
}
