// The GUILD_CREATE one session sees: Discord trims the world's full guild by intents and
// by the session's large_threshold.
import type { GatewayGuildCreateDispatchData } from 'discord-api-types/v10';
import { GatewayIntentBits } from './protocol';

/** IDENTIFY's default `large_threshold`. */
export const DEFAULT_LARGE_THRESHOLD = 50;

export function guildCreateFor(
  guild: GatewayGuildCreateDispatchData,
  session: { intents: number; largeThreshold: number },
  botId: string,
): GatewayGuildCreateDispatchData {
  const hasMembers = (session.intents & GatewayIntentBits.GuildMembers) !== 0;
  const hasPresences = (session.intents & GatewayIntentBits.GuildPresences) !== 0;
  // Above large_threshold members, offline members are left out of the member list.
  const large = guild.member_count > session.largeThreshold;
  const online = new Set((guild.presences ?? []).filter((p) => p.status !== 'offline').map((p) => p.user.id));
  const members = guild.members.filter((m) => {
    const id = m.user?.id;
    if (id === botId) return true;
    // Without GUILD_MEMBERS only the bot itself (and members in voice) are sent.
    if (!hasMembers) return (guild.voice_states ?? []).some((v) => v.user_id === id);
    return !large || (id !== undefined && online.has(id));
  });
  return { ...guild, large, members, presences: hasPresences ? (guild.presences ?? []) : [] };
}
