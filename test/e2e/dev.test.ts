// `./splashtail dev` brings the stack up against the sim, announces each service, stops on SIGTERM.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { start } from '../helpers/process';
import { createTestDatabase, uniqueName } from '../helpers/services';

describe('./splashtail dev', () => {
  it('runs sim, proxy, jobs and webserver with clusters behind the proxy, then stops cleanly', async () => {
    const db = await createTestDatabase();
    const [sim, proxy, api, jobs, iserver] = [await freePort(), await freePort(), await freePort(), await freePort(), 20_000 + Math.floor(Math.random() * 20_000)];
    const { path } = writeTestConfig({
      'sim.port': sim, 'sim.max_concurrency': 4, 'sim.identify_interval_ms': 0,
      'proxy.port': proxy, 'proxy.session_key_prefix': `${uniqueName('st_dev')}:`,
      'meta.port': api, 'meta.jobserver_port': jobs, 'meta.jobserver_url': `http://127.0.0.1:${jobs}`, 'meta.bot_iserver_base_port': iserver,
      'meta.postgres_url': db.url,
      'clusterer.redis_channel': uniqueName('st_dev'), 'clusterer.cluster_start_next_delay': 100,
    });
    const dev = start(['dev', '--config', path]);
    try {
      assert.equal(await dev.waitFor(/^sim: /, 30_000), `sim: http://127.0.0.1:${sim}`);
      assert.equal(await dev.waitFor(/^proxy: /, 30_000), `proxy: ws://127.0.0.1:${proxy}`);
      assert.equal(await dev.waitFor(/^jobs: /, 30_000), `jobs: http://127.0.0.1:${jobs}`);
      assert.equal(await dev.waitFor(/^webserver: /, 60_000), `webserver: http://127.0.0.1:${api}`);
      await dev.waitFor(/^dev: all services up/, 60_000);
      const deadline = Date.now() + 30_000;
      let clusters: { state: string }[] = [];
      while (Date.now() < deadline) {
        clusters = ((await (await fetch(`http://127.0.0.1:${api}/clusters`)).json()) as { clusters: { state: string }[] }).clusters;
        if (clusters.length === 2 && clusters.every((c) => c.state === 'up')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(clusters.map((c) => c.state), ['up', 'up']);
      // The clusters' shards are sessions of the proxy, not of the sim directly.
      const shards = (await (await fetch(`http://127.0.0.1:${proxy}/shards`)).json()) as { downstream: { connected: number } };
      assert.equal(shards.downstream.connected, 4);
    } finally {
      const code = await dev.stop('SIGTERM');
      await db.drop();
      assert.equal(code, 0, dev.output().slice(-3000));
    }
  });
});
