// AntiRaid under a raid: audit event -> punishment request latency, p50/p99, with raiders in 100
// guilds creating channels at 1,000 actions/s in all (BENCH_RAID_RATE) (sim -> proxy -> bot, Discord's REST limits:
// 50 requests/s per bot), beside the floor those limits alone put under the same punishments, and
// beside one punishment on an idle bot. Latency is read on the sim's clock: the snowflake of the
// entry that crossed the limit to that of the ban's audit entry (made when the ban request
// arrives). Then the settings read of each audit entry (a Postgres query per entry before, the
// shared Redis copy now) at the same 1,000 reads/s over 100 guilds, with the bot's pool of 2.
import { AuditLogEvent } from 'discord-api-types/v10';
import pino from 'pino';
import { limitsSettings } from '../bot/modules/limits/settings';
import { SettingsStore } from '../bot/modules/settings-store';
import { migrate } from '../internal/db/migrate';
import { createPool } from '../internal/db/pool';
import { createRedis } from '../internal/redis';
import { startAntiraid } from '../test/helpers/antiraid';
import { createTestDatabase, REDIS_URL } from '../test/helpers/services';
import { percentile, report, sleep, uniqueName } from './lib';

const GUILDS = Number(process.env.BENCH_GUILDS ?? 100);
const RAIDERS_PER_GUILD = 2;
const RATE = Number(process.env.BENCH_RAID_RATE ?? 1_000);
/** Each raider's channel creations: past the limit, as a raid that goes on while the bot reacts. */
const ACTIONS_PER_RAIDER = 10;
/** The rule of every guild: more than LIMIT channel creations within 10 s -> ban. */
const LIMIT = 5;
/** Discord's global REST limit per bot. */
const GLOBAL_PER_S = 50;
const MANAGE_CHANNELS = 1n << 4n;
const REQUESTS_PER_BAN = 2;

const snowflakeTime = (id: string) => Number((BigInt(id) >> 22n) + 1420070400000n);
const p = (sorted: number[]) => `${Math.round(percentile(sorted, 50))} / ${Math.round(percentile(sorted, 99))} ms`;

type SimGuild = { id: string; owner_id: string };
type Entry = { id: string; action_type: number; user_id: string; target_id: string };

/**
 * When each ban request could go at the earliest under a 50/s global limit (fixed 1 s windows, as
 * the sim counts), each punishment costing its REQUESTS_PER_BAN requests (the bot has no member
 * cache, GUILD_MEMBERS being privileged: GET member for the hierarchy and exemptions, PUT ban).
 */
function floor(crossedAt: number[]): number[] {
  const sorted = [...crossedAt].sort((a, b) => a - b);
  const used = new Map<number, number>();
  return sorted
    .map((t) => {
      let sentAt = t;
      for (let r = 0; r < REQUESTS_PER_BAN; r++) {
        let window = Math.floor(sentAt / 1000);
        while ((used.get(window) ?? 0) >= GLOBAL_PER_S) window++;
        used.set(window, (used.get(window) ?? 0) + 1);
        sentAt = Math.max(sentAt, window * 1000);
      }
      return sentAt - t;
    })
    .sort((a, b) => a - b);
}

async function raid(): Promise<void> {
  const w = await startAntiraid({ guilds: GUILDS, restLimit: GLOBAL_PER_S });
  try {
    const guilds = (await (await fetch(`${w.simUrl}/_sim/guilds`)).json()) as SimGuild[];
    const act = async (userId: string, method: string, path: string, body?: unknown) => {
      const res = await w.act(userId, method, path, body);
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as { id: string }) : undefined;
    };
    const rule = { rules: [{ id: 1, kind: 'channel_create', count: LIMIT, seconds: 10, punishment: 'ban' }], next_rule_id: 2 };
    for (const g of guilds) await w.pool.query("insert into guild_settings (guild_id, module, settings) values ($1, 'limits', $2)", [g.id, JSON.stringify(rule)]);
    await punishOne(w, guilds[0]!, await w.member('idle raider', MANAGE_CHANNELS));
    const raiders: { guild: string; user: string }[] = [];
    for (const g of guilds) {
      const role = (await act(g.owner_id, 'POST', `/guilds/${g.id}/roles`, { name: 'raiders', permissions: MANAGE_CHANNELS.toString() }))!;
      for (let i = 0; i < RAIDERS_PER_GUILD; i++) {
        const user = (await w.post('/_sim/users', { username: `raider${i}` })) as { id: string };
        await w.post(`/_sim/guilds/${g.id}/members`, { user_id: user.id });
        await act(g.owner_id, 'PUT', `/guilds/${g.id}/members/${user.id}/roles/${role.id}`);
        raiders.push({ guild: g.id, user: user.id });
      }
    }

    // The raid: ACTIONS_PER_RAIDER each, round robin at RATE actions/s (a banned raider's action
    // fails, as on Discord). A machine that cannot send RATE/s takes longer; the rate reached is printed.
    const started = Date.now();
    const total = raiders.length * ACTIONS_PER_RAIDER;
    let sent = 0;
    const inflight = new Set<Promise<unknown>>();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RATE));
      for (; sent < due; sent++) {
        const r = raiders[sent % raiders.length]!;
        const call = w.act(r.user, 'POST', `/guilds/${r.guild}/channels`, { name: `raid-${sent}` }).then((res) => res.arrayBuffer()).catch(() => undefined);
        inflight.add(call);
        void call.finally(() => inflight.delete(call));
      }
      await sleep(5);
    }
    await Promise.all(inflight);
    const achieved = sent / ((Date.now() - started) / 1000);

    // Every raider who crossed the limit is banned; wait for the last bans (the REST limit paces them).
    const latencies: number[] = [];
    const crossed: number[] = [];
    const deadline = Date.now() + 120_000;
    for (const g of guilds) {
      for (;;) {
        const state = (await (await fetch(`${w.simUrl}/_sim/guilds/${g.id}/state`)).json()) as { audit_log: Entry[] };
        const mine = raiders.filter((r) => r.guild === g.id).map((r) => {
          const creates = state.audit_log.filter((e) => e.action_type === AuditLogEvent.ChannelCreate && e.user_id === r.user).sort((a, b) => snowflakeTime(a.id) - snowflakeTime(b.id));
          const ban = state.audit_log.find((e) => e.action_type === AuditLogEvent.MemberBanAdd && e.target_id === r.user);
          return { over: creates[LIMIT], ban };
        });
        if (mine.every((m) => !m.over || m.ban) || Date.now() > deadline) {
          for (const m of mine.filter((x) => x.over && x.ban)) {
            crossed.push(snowflakeTime(m.over!.id));
            latencies.push(snowflakeTime(m.ban!.id) - snowflakeTime(m.over!.id));
          }
          break;
        }
        await sleep(500);
      }
    }
    latencies.sort((a, b) => a - b);
    report(`raid ${Math.round(achieved)} actions/s, ${GUILDS} guilds: entry -> ban p50 / p99`, p(latencies), `REST floor (50/s, ${REQUESTS_PER_BAN} requests a ban) ${p(floor(crossed))} for the same ${crossed.length} bans`);
  } finally {
    await w.stop();
  }
}

/** One raider alone on the idle bot: the pipeline's own latency. */
async function punishOne(w: Awaited<ReturnType<typeof startAntiraid>>, g: SimGuild, raider: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i <= LIMIT; i++) {
    const res = await w.act(raider, 'POST', `/guilds/${g.id}/channels`, { name: `idle-${i}` });
    times.push(snowflakeTime(((await res.json()) as { id: string }).id));
  }
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(50)) {
    const state = (await (await fetch(`${w.simUrl}/_sim/guilds/${g.id}/state`)).json()) as { audit_log: Entry[] };
    const ban = state.audit_log.find((e) => e.action_type === AuditLogEvent.MemberBanAdd && e.target_id === raider);
    if (!ban) continue;
    process.stdout.write(`idle bot, one raider: entry -> ban ${snowflakeTime(ban.id) - times[LIMIT]!} ms (channel ids stand in for their audit entries' times)\n`);
    return;
  }
  throw new Error('the idle raider was not banned');
}

/** Settings reads at RATE/s over GUILDS guilds for 3 s; per-read latencies. */
async function reads(store: SettingsStore): Promise<number[]> {
  const latencies: number[] = [];
  const started = Date.now();
  let sent = 0;
  const all: Promise<void>[] = [];
  while (Date.now() - started < 3_000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE);
    for (; sent < due; sent++) {
      const t = performance.now();
      all.push(store.get(`9000000000000000${String(sent % GUILDS).padStart(2, '0')}`, 'limits', limitsSettings).then(() => void latencies.push(performance.now() - t)));
    }
    await sleep(5);
  }
  await Promise.all(all);
  return latencies.sort((a, b) => a - b);
}

async function settingsReads(): Promise<void> {
  const logger = pino({ level: 'silent' });
  const db = await createTestDatabase();
  const pool = createPool(db.url, logger, { max: 2 });
  const redis = createRedis(REDIS_URL, logger, 'bench', { failFast: true });
  const prefix = uniqueName('st_bench_settings');
  try {
    await migrate(pool);
    for (let i = 0; i < GUILDS; i++) {
      await pool.query("insert into guild_settings (guild_id, module, settings) values ($1, 'limits', $2)", [`9000000000000000${String(i).padStart(2, '0')}`, JSON.stringify({ rules: [{ id: 1, kind: 'channel_create', count: 5, seconds: 10, punishment: 'ban' }] })]);
    }
    const direct = await reads(new SettingsStore(pool));
    const cached = await reads(new SettingsStore(pool, { redis, prefix, logger }));
    const ms = (sorted: number[]) => `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 99).toFixed(2)} ms`;
    report(`settings read per entry (${RATE}/s, pool of 2) p50/p99`, `Redis copy ${ms(cached)}`, `Postgres per entry (before) ${ms(direct)}`);
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await pool.end();
    await db.drop();
  }
}

async function main() {
  if (process.env.BENCH_SKIP_READS !== '1') await settingsReads();
  await raid();
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
