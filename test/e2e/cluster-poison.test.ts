// Poison events: a permission overwrite discord.js cannot parse ("allow": "-1") made it throw
// inside its packet handlers, and the cluster crash-looped on the same GUILD_CREATE. The sim
// refuses to produce one (it is held to Discord), so a relay between the sim and the cluster
// rewrites the guild's GUILD_CREATE on the way. The cluster must keep its pid, go on handling
// events, quarantine the guild after repeated failures, and remember it across a restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { GatewayRelay } from '../helpers/gateway-relay';
import type { RawFrame } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { REDIS_URL, uniqueName } from '../helpers/services';
import { poll } from '../helpers/deadline';

interface Quarantined {
  guild_id: string;
  failures: number;
  skipped: number;
  event: string;
  error: string;
}
interface Status {
  id: number;
  state: string;
  pid: number | null;
  restarts: number;
  quarantined: Quarantined[];
}
interface SimGuild {
  id: string;
  channels: { id: string; name: string; type: number }[];
}


describe('a poison event does not crash-loop a cluster; its guild is quarantined (in Redis)', () => {
  let sim: Running;
  let web: Running;
  let relay: GatewayRelay;
  let simUrl: string;
  let api: string;
  let basePort: number;
  let channel: string;
  let poison: SimGuild;
  let good: SimGuild;
  let redis: Redis;

  const json = async <T>(url: string, init?: RequestInit): Promise<T> => (await fetch(url, init)).json() as Promise<T>;
  const cluster = () => json<{ clusters: Status[] }>(`${api}/clusters`).then((b) => b.clusters[0]!);
  const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000) =>
    poll(what, fn, timeoutMs, () => `; webserver output:\n${web.output().slice(-4000)}`, 250);
  const metric = async (name: string, type: string) => {
    const text = await (await fetch(`http://127.0.0.1:${basePort}/metrics`)).text();
    const m = new RegExp(`^${name}\\{[^}]*type="${type}"[^}]*\\} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  /** The guild as discord.js cannot take it: an overwrite whose allow is not a bitfield. */
  const poisoned = (guild: unknown) => {
    const g = structuredClone(guild) as { id: string; channels: { permission_overwrites?: unknown[] }[] };
    g.channels[0]!.permission_overwrites = [{ id: g.id, type: 0, allow: '-1', deny: '0' }];
    return g;
  };
  const ping = async (guild: SimGuild) => {
    const created = await json<{ id: string }>(`${simUrl}/_sim/interactions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guild_id: guild.id, channel_id: guild.channels.find((c) => c.name === 'general')!.id, command_name: 'ping' }),
    });
    return waitFor('the /ping answer', async () => {
      const i = await json<{ original: { content: string } | null }>(`${simUrl}/_sim/interactions/${created.id}`);
      return i.original?.content;
    });
  };
  let lastPoisonGuildCreate: unknown;

  before(async () => {
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', '1', '--guilds', '3', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const guilds = await json<SimGuild[]>(`${simUrl}/_sim/guilds`);
    [poison, good] = [guilds[0]!, guilds[1]!];
    const gateway = await json<{ url: string }>(`${simUrl}/api/v10/gateway`);
    relay = new GatewayRelay(gateway.url, (frame: RawFrame) => {
      if (frame.t !== 'GUILD_CREATE' || frame.d.id !== poison.id) return frame;
      lastPoisonGuildCreate = frame.d;
      return { ...frame, d: poisoned(frame.d) };
    });
    const port = await freePort();
    basePort = await freePort();
    channel = uniqueName('st_ipc_poison');
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`,
      'meta.port': port,
      'meta.bot_iserver_base_port': basePort,
      'clusterer.redis_channel': channel,
      'clusterer.per_cluster': 1,
      'clusterer.ping_interval': 500,
      'clusterer.ping_timeout': 5000,
    });
    api = `http://127.0.0.1:${port}`;
    redis = new Redis(REDIS_URL);
    web = start(['webserver', '--config', path], { env: { SPLASHTAIL__BOT__GATEWAY_URL: await relay.url } });
  });

  after(async () => {
    await web?.stop();
    await relay?.close();
    await sim?.stop();
    await redis?.del(`${channel}:quarantine`, `${channel}:guild_failures`);
    await redis?.quit();
  });

  it('survives the poison GUILD_CREATE, keeps handling events, and quarantines the guild after 3 failures', async () => {
    const up = await waitFor('the cluster up', async () => {
      const c = await cluster();
      return c.state === 'up' && c;
    });
    assert.equal(await metric('splashtail_bot_event_failures_total', 'GUILD_CREATE'), 1, 'the poison GUILD_CREATE failed once, counted');
    assert.deepEqual(up.quarantined, [], 'one failure does not quarantine');
    assert.match(await ping(good), /pong/i, 'later events are handled');

    // More of the same guild's channels with such overwrites: two more failures.
    const channel = { ...poisoned(lastPoisonGuildCreate).channels[0], guild_id: poison.id };
    relay.inject('CHANNEL_CREATE', channel);
    await waitFor('the second failure', async () => (await metric('splashtail_bot_event_failures_total', 'CHANNEL_CREATE')) === 1);
    assert.deepEqual((await cluster()).quarantined, [], 'two failures do not quarantine');
    relay.inject('CHANNEL_CREATE', channel);
    const quarantined = await waitFor('the guild quarantined', async () => (await cluster()).quarantined[0]);
    assert.equal(quarantined.guild_id, poison.id);
    assert.equal(quarantined.failures, 3);
    assert.equal(quarantined.event, 'CHANNEL_CREATE');
    assert.match(quarantined.error, /BitField|bigint|invalid/i);

    // From now on its events are skipped and counted; other guilds' events still work.
    const general = poison.channels.find((c) => c.name === 'general')!;
    const say = await fetch(`${simUrl}/_sim/guilds/${poison.id}/channels/${general.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'into the quarantined guild' }),
    });
    assert.equal(say.status, 200);
    await waitFor('the skipped MESSAGE_CREATE counted', async () => (await cluster()).quarantined[0]!.skipped >= 1);
    assert.equal(await metric('splashtail_bot_quarantined_events_total', 'MESSAGE_CREATE'), 1);
    assert.match(await ping(good), /pong/i);
    const now = await cluster();
    assert.equal(now.pid, up.pid, 'same process throughout');
    assert.equal(now.restarts, 0);
  });

  it('keeps the quarantine across a restart: the poison GUILD_CREATE is skipped, not failed', async () => {
    const old = await cluster();
    await redis.publish(channel, JSON.stringify({ scope: 'launcher', action: 'restart', args: { id: 0 }, command_id: uniqueName('restart') }));
    const next = await waitFor('the cluster restarted and up', async () => {
      const c = await cluster();
      return c.state === 'up' && c.pid !== old.pid && c.quarantined.length > 0 && c;
    });
    assert.equal(next.quarantined[0]!.guild_id, poison.id);
    assert.equal(await metric('splashtail_bot_event_failures_total', 'GUILD_CREATE'), 0, 'nothing failed in the new process');
    assert.equal(await metric('splashtail_bot_quarantined_events_total', 'GUILD_CREATE'), 1, 'the poison GUILD_CREATE was skipped');
    assert.match(await ping(good), /pong/i);
    assert.doesNotMatch(web.output(), /uncaught exception|unhandled rejection/);
  });

  it('a cluster exits when its clusterer is kill -9ed (its process channel closes): no orphan holds the shards', async () => {
    const { pid } = await cluster();
    web.child.kill('SIGKILL');
    await waitFor('the cluster process gone', async () => {
      try {
        process.kill(pid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 30_000);
  });
});
