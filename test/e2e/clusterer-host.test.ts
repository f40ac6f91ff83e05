// clusterer.enabled: false lets the webserver run without the clusterer, which then lives in
// `splashtail bot` alone; the API shows that clusterer's clusters over IPC.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { freePort } from '../helpers/ports';
import { type Running, runSync, start } from '../helpers/process';
import { uniqueName } from '../helpers/services';

/** Pids of the direct children of `pid` (Linux). */
function children(pid: number): number[] {
  const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return tasks ? tasks.split(/\s+/).map(Number) : [];
}

describe('one clusterer: in `splashtail bot`, the webserver with clusterer.enabled false', () => {
  let sim: Running;
  let bot: Running;
  let web: Running;
  let api: string;
  let path: string;

  before(async () => {
    sim = start(['sim', '--port', String(await freePort()), '--shards', '2', '--guilds', '2', '--identify-interval-ms', '0', '--max-concurrency', '2']);
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    ({ path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`, 'meta.port': port, 'meta.bot_iserver_base_port': 20_000 + Math.floor(Math.random() * 20_000),
      'clusterer.redis_channel': uniqueName('st_host'), 'clusterer.cluster_start_next_delay': 100,
    }));
    bot = start(['bot', '--config', path]);
    web = start(['webserver', '--config', path], { env: { SPLASHTAIL__CLUSTERER__ENABLED: 'false' } });
    await web.waitFor(/webserver listening/, 60_000);
  });

  after(async () => {
    await web?.stop();
    await bot?.stop();
    await sim?.stop();
  });

  it('the API shows the clusters of the bot\'s clusterer; the webserver runs none', async () => {
    const deadline = Date.now() + 60_000;
    let clusters: { state: string; pid: number | null }[] = [];
    while (Date.now() < deadline) {
      clusters = ((await (await fetch(`${api}/clusters`)).json()) as { clusters: typeof clusters }).clusters;
      if (clusters.length === 1 && clusters[0]!.state === 'up') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(clusters.map((c) => c.state), ['up'], web.output().slice(-2000));
    assert.deepEqual(children(bot.child.pid!), [clusters[0]!.pid], 'the cluster is a child of `splashtail bot`');
    assert.deepEqual(children(web.child.pid!), [], 'the webserver hosts no cluster');
    const health = (await (await fetch(`${api}/healthz`)).json()) as { clusters: number; clusters_up: number };
    assert.deepEqual([health.clusters, health.clusters_up], [1, 1]);
    const actions = (await (await fetch(`${api}/clusters/actions?limit=10`)).json()) as { actions: { action: string }[] };
    assert.ok(actions.actions.some((a) => a.action === 'start'), 'the action log of the bot\'s clusterer');
  });

  it('`splashtail bot` without --cluster refuses to start a clusterer when clusterer.enabled is false (exit 2)', () => {
    const { code, stderr } = runSync(['bot', '--config', path], { env: { SPLASHTAIL__CLUSTERER__ENABLED: 'false' } });
    assert.equal(code, 2);
    assert.match(stderr, /clusterer\.enabled is false/);
  });
});
