// `./splashtail dev --proxies 2`: two proxy nodes in `shards: auto`, which share the sim's shards
// by leases (two each), behind a round-robin relay on proxy.port; the bot clusters connect
// through the relay and every shard's session is served, whichever node the relay picked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort, freePortRun } from '../helpers/ports';
import { start } from '../helpers/process';
import { createTestDatabase, uniqueName } from '../helpers/services';

describe('./splashtail dev --proxies 2', () => {
  it('runs two proxy nodes behind the relay, and the clusters reach every shard through it', async () => {
    const db = await createTestDatabase();
    const proxy = await freePortRun(3);
    const [sim, api, jobs, mirror, iserver] = [await freePort(), await freePort(), await freePort(), await freePort(), 20_000 + Math.floor(Math.random() * 20_000)];
    const { path } = writeTestConfig({
      'sim.port': sim, 'sim.max_concurrency': 4, 'sim.identify_interval_ms': 0,
      'proxy.port': proxy, 'mirror.port': mirror, 'proxy.session_key_prefix': `${uniqueName('st_devp')}:`,
      'meta.port': api, 'meta.jobserver_port': jobs, 'meta.jobserver_url': `http://127.0.0.1:${jobs}`, 'meta.bot_iserver_base_port': iserver,
      'meta.postgres_url': db.url,
      'clusterer.redis_channel': uniqueName('st_devp'), 'clusterer.cluster_start_next_delay': 100,
    });
    const dev = start(['dev', '--config', path, '--proxies', '2']);
    try {
      assert.equal(await dev.waitFor(/^proxy-1: /, 30_000), `proxy-1: ws://127.0.0.1:${proxy + 1}`);
      assert.equal(await dev.waitFor(/^proxy-2: /, 30_000), `proxy-2: ws://127.0.0.1:${proxy + 2}`);
      assert.equal(await dev.waitFor(/^proxy: /, 30_000), `proxy: ws://127.0.0.1:${proxy} (round-robin relay over 2 nodes)`);
      await dev.waitFor(/^dev: all services up/, 90_000);
      const nodes = [proxy + 1, proxy + 2].map((p) => `http://127.0.0.1:${p}`);
      // The coordinator waits one lease (10 s) after a cold start before it assigns the shards.
      const deadline = Date.now() + 60_000;
      type NodeList = { nodes: { name: string; shards: number[] }[] };
      let list: NodeList = { nodes: [] };
      while (Date.now() < deadline) {
        list = (await (await fetch(`${nodes[0]}/nodes`)).json()) as NodeList;
        if (list.nodes.length === 2 && list.nodes.every((n) => n.shards.length === 2)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(list.nodes.map((n) => n.name), ['proxy-1', 'proxy-2']);
      assert.deepEqual(list.nodes.flatMap((n) => n.shards).sort(), [0, 1, 2, 3], `the nodes share the shards 2/2: ${JSON.stringify(list.nodes)}`);
      assert.ok(list.nodes.every((n) => n.shards.length === 2), `2 shards each: ${JSON.stringify(list.nodes)}`);
      // Four cluster shards, spread by the relay over both nodes (a node serves any shard).
      let connected: number[] = [];
      let shards: unknown[] = [];
      while (Date.now() < deadline) {
        shards = await Promise.all(nodes.map(async (n) => await (await fetch(`${n}/shards`)).json()));
        connected = shards.map((s) => (s as { downstream: { connected: number } }).downstream.connected);
        if (connected[0]! + connected[1]! === 4) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(connected[0]! + connected[1]!, 4, `bot shards connected per node: ${connected.join(', ')}\n${JSON.stringify(shards)}\n${dev.output().slice(-8000)}`);
      assert.ok(connected.every((n) => n > 0), 'the relay used both nodes');
    } finally {
      const code = await dev.stop('SIGTERM');
      await db.drop();
      assert.equal(code, 0, dev.output().slice(-3000));
    }
  });
});
