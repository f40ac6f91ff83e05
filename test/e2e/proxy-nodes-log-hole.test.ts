// Issue #11, a hole in the shard log: while Redis hangs (a PRIVATE Redis, paused with SIGSTOP)
// the owner of shard 1 keeps at most `shard_log_max_events` (200) unwritten entries and drops the
// oldest. A bot of shard 1 on the owner still gets every event (its path is in memory); a bot of
// shard 1 on the other node, which reads the log, cannot, so it gets op 9 (not resumable) and
// IDENTIFYs again instead of silently missing events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TOKEN } from '../../internal/sim/world';
import { writeTestConfig } from '../helpers/config';
import { RawGatewayClient } from '../helpers/gateway-client';
import { freePort } from '../helpers/ports';
import { type PrivateService, privateRedis } from '../helpers/private-services';
import { type Running, start } from '../helpers/process';
import { sleep, waitUntil } from '../helpers/proxy-nodes';
import { uniqueName } from '../helpers/services';

const INTENTS = 1 | 512 | 32768;

describe('proxy nodes: a hole in the shard log (#11)', () => {
  let redis: PrivateService;
  let sim: Running;
  const nodes: Running[] = [];
  const clients: RawGatewayClient[] = [];
  const prefix = `${uniqueName('st_hole')}:`;

  const startNode = async (simUrl: string, shards: [number, number]) => {
    const port = await freePort();
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.redis_url': redis.url, 'proxy.port': port, 'proxy.session_key_prefix': prefix,
      'proxy.shards': shards, 'proxy.shard_count': 2, 'proxy.shard_log_max_events': 200,
    });
    const node = start(['proxy', '--config', path]);
    nodes.push(node);
    await node.waitFor(/"msg":"proxy listening/);
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(`node ${url} ready`, async () => ((await (await fetch(`${url}/shards`)).json()) as { shards: { status: string }[] }).shards.every((s) => s.status === 'Ready'), 30_000);
    return url.replace('http', 'ws');
  };
  const bot = async (url: string) => {
    const c = new RawGatewayClient(url).heartbeat();
    clients.push(c);
    await c.next((f) => f.op === 10);
    c.identify(DEFAULT_TOKEN, { shard: [1, 2], intents: INTENTS });
    await c.dispatch('READY', 30_000);
    return c;
  };
  const invalidated = (c: RawGatewayClient) => c.frames.some((f) => f.op === 9);
  const loadCount = (c: RawGatewayClient) => c.frames.filter((f) => f.op === 0 && f.t === 'MESSAGE_CREATE').length;

  before(async () => {
    redis = await privateRedis();
    await redis.start();
    sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '6', '--max-concurrency', '2', '--identify-interval-ms', '0', '--seed', '13', '--rate', '300']);
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    // Node A runs shard 0 and serves shard 1 from the log; node B owns shard 1.
    const a = await startNode(simUrl, [0, 0]);
    const b = await startNode(simUrl, [1, 1]);
    clients.push(...(await Promise.all([bot(a), bot(b)])));
  });

  after(async () => {
    for (const c of clients) c.terminate();
    for (const n of nodes) await n.stop('SIGKILL');
    await sim?.stop();
    redis?.resume();
    await redis?.remove();
  });

  it('the bot reading the log gets op 9; the bot on the owner gets every event', async () => {
    const [viaLog, onOwner] = clients as [RawGatewayClient, RawGatewayClient];
    await waitUntil('events flow to both', () => loadCount(viaLog) >= 50 && loadCount(onOwner) >= 50, 30_000);
    assert.ok(!invalidated(viaLog) && !invalidated(onOwner), 'no op 9 while the log is whole');

    redis.pause();
    await sleep(3_000); // about 450 events of shard 1 at 300/s over 2 shards: far more than 200
    redis.resume();

    await waitUntil('the bot reading the log got op 9', () => invalidated(viaLog), 15_000, () => nodes.map((n) => n.output().slice(-1500)).join('\n'));
    assert.equal(viaLog.frames.find((f) => f.op === 9)!.d, false, 'not resumable: IDENTIFY again');
    assert.ok(nodes[0]!.output().includes('the shard log misses events'), 'node A logs the hole');
    const from = loadCount(onOwner);
    await waitUntil('events flow on the owner', () => loadCount(onOwner) >= from + 50, 15_000);
    assert.ok(!invalidated(onOwner), 'the bot on the owner got no op 9');
    const seqs = onOwner.frames.filter((f) => f.op === 0).map((f) => f.s!);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'the bot on the owner: seq 1..n, no gap');
  });
});
