// `--rate`: a realistic mix of dispatches at a target rate, through the world like any change.
import type { SimWorld } from './world';

const MIX: [number, string][] = [[0.45, 'MESSAGE_CREATE'], [0.2, 'TYPING_START'], [0.15, 'PRESENCE_UPDATE'], [0.1, 'MESSAGE_UPDATE'], [0.1, 'GUILD_MEMBER_UPDATE']];
const TICK_MS = 20;
const KEEP_MESSAGES = 200;

export function startLoadGenerator(world: SimWorld, eventsPerSecond: number): () => void {
  let debt = 0;
  const guilds = [...world.guilds.values()].filter((g) => g.members.size > 0);
  if (guilds.length === 0 || eventsPerSecond <= 0) return () => {};
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  const timer = setInterval(() => {
    debt += (eventsPerSecond * TICK_MS) / 1000;
    for (; debt >= 1; debt--) {
      const g = pick(guilds);
      const member = pick([...g.members.values()]);
      const texts = [...g.channels.values()].filter((c) => c.type === 0);
      const channel = texts.length ? pick(texts) : undefined;
      const r = Math.random();
      let acc = 0;
      const kind = MIX.find(([p]) => (acc += p) > r)?.[1] ?? 'MESSAGE_CREATE';
      if (kind === 'MESSAGE_CREATE' && channel) {
        world.postMessage(g, world.newMessage(channel.id, member.user, `load ${Date.now()}`));
        const list = g.messages.get(channel.id)!;
        if (list.length > KEEP_MESSAGES) list.splice(0, list.length - KEEP_MESSAGES);
      } else if (kind === 'MESSAGE_UPDATE' && channel) {
        const m = g.messages.get(channel.id)?.at(-1);
        if (m) world.emitDispatch('MESSAGE_UPDATE', { ...m, content: `${m.content} (edited)`, edited_timestamp: new Date().toISOString(), guild_id: g.guild.id }, g.guild.id);
      } else if (kind === 'TYPING_START' && channel) {
        world.emitDispatch('TYPING_START', { channel_id: channel.id, guild_id: g.guild.id, user_id: member.user.id, timestamp: Math.floor(Date.now() / 1000) }, g.guild.id);
      } else if (kind === 'PRESENCE_UPDATE') {
        world.emitDispatch('PRESENCE_UPDATE', { user: { id: member.user.id }, guild_id: g.guild.id, status: pick(['online', 'idle', 'dnd']), activities: [], client_status: { desktop: 'online' } }, g.guild.id);
      } else {
        world.emitDispatch('GUILD_MEMBER_UPDATE', { guild_id: g.guild.id, ...member }, g.guild.id);
      }
    }
  }, TICK_MS);
  return () => clearInterval(timer);
}
