// A poison READY from upstream (no user, no session, no guild list, junk guild entries) must not
// take the proxy down nor empty what it serves: bots that identify afterwards still get every
// guild, and events still flow. The sim, held to Discord, never sends one, so a relay between
// the sim and the proxy's upstream shard injects it; a small front answers the proxy's
// GET /gateway/bot with the relay's URL.
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GatewayIntentBits } from '../../internal/gateway/protocol';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { type RawFrame, RawGatewayClient } from '../helpers/gateway-client';
import { GatewayRelay } from '../helpers/gateway-relay';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { dropRedisKeys, uniqueName } from '../helpers/services';

const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages;

describe('a poison READY from upstream', () => {
  let sim: Running;
  let proxy: Running;
  let relay: GatewayRelay;
  let front: Server;
  let simUrl: string;
  let proxyUrl: string;
  let prefix: string;
  let guilds: { id: string; channels: { id: string; name: string }[] }[];

  /** A bot session through the proxy: its READY and the GUILD_CREATEs it was sent. */
  const connect = async () => {
    const client = new RawGatewayClient(proxyUrl.replace(/^http/, 'ws'));
    await client.next((f) => f.op === 10);
    client.identify(DEFAULT_TOKEN, { intents: INTENTS, shard: [0, 1] });
    const ready = await client.next((f) => f.t === 'READY', 30_000);
    const ids = (ready.d.guilds as { id: string }[]).map((g) => g.id);
    const creates: RawFrame[] = [];
    for (const id of ids) creates.push(await client.next((f) => f.t === 'GUILD_CREATE' && f.d.id === id, 30_000));
    return { client, ids: ids.sort(), creates };
  };

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '1', '--guilds', '3', '--identify-interval-ms', '0']);
    simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    guilds = (await (await fetch(`${simUrl}/_sim/guilds`)).json()) as typeof guilds;
    const { url: simGateway } = (await (await fetch(`${simUrl}/api/v10/gateway`)).json()) as { url: string };
    relay = new GatewayRelay(simGateway);
    const relayUrl = await relay.url;
    front = createServer((req, res) => {
      void (async () => {
        if (!req.url?.endsWith('/gateway/bot')) return res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"404: Not Found","code":0}');
        const got = await fetch(`${simUrl}/api/v10/gateway/bot`, { headers: { authorization: req.headers.authorization ?? '' } });
        res.writeHead(got.status, { 'content-type': 'application/json' }).end(JSON.stringify({ ...((await got.json()) as object), url: relayUrl }));
      })();
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const port = await freePort();
    prefix = `${uniqueName('st_poison_ready')}:`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `http://127.0.0.1:${(front.address() as AddressInfo).port}/api`, 'proxy.port': port, 'proxy.session_key_prefix': prefix,
    });
    proxyUrl = `http://127.0.0.1:${port}`;
    proxy = start(['proxy', '--config', path]);
    await proxy.waitFor(/upstream shard ready/, 60_000);
  });

  after(async () => {
    await proxy?.stop();
    await relay?.close();
    await new Promise((r) => front?.close(r));
    await sim?.stop();
    await dropRedisKeys(prefix);
  });

  it('leaves the proxy up, serving every guild, and events flowing', async () => {
    const first = await connect();
    assert.deepEqual(first.ids, guilds.map((g) => g.id).sort());
    first.client.close();
    const pid = proxy.child.pid;

    relay.inject('READY', {});
    relay.inject('READY', { v: 10, session_id: 'poison', guilds: 'none' });
    relay.inject('READY', { v: 10, user: null, session_id: 'poison', guilds: [null, {}], shard: [0, 1] });
    relay.inject('READY', { v: 10, session_id: 'poison', guilds: [] });
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(proxy.child.exitCode, null, `the proxy exited:\n${proxy.output().slice(-3000)}`);
    assert.equal(proxy.child.pid, pid);

    const after = await connect();
    assert.deepEqual(after.ids, first.ids, 'every guild is still served');
    assert.deepEqual(
      after.creates.map((f) => (f.d.channels as unknown[]).length),
      first.creates.map((f) => (f.d.channels as unknown[]).length),
      'with its channels',
    );
    const g = guilds[0]!;
    const posted = (await (await fetch(`${simUrl}/_sim/guilds/${g.id}/channels/${g.channels.find((c) => c.name === 'general')!.id}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'after the poison' }),
    })).json()) as { id: string };
    await after.client.next((f) => f.t === 'MESSAGE_CREATE' && f.d.id === posted.id, 30_000);
    after.client.close();
  });
});
