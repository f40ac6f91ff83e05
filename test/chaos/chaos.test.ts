// The chaos suite (`make chaos`, not part of `make test`): the whole stack on private Redis,
// RabbitMQ and Postgres under a steady load of events (10/s) and backup tasks (one per 3 s),
// through kill -9 of each process, 30 s outages of each engine and a SIGSTOP past the timeouts.
// Each scenario is one test that measures and asserts its own row; the table of every row is
// printed at the end, failed rows included.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChaosStack, sleep, waitUntil } from './stack';

const OUTAGE_MS = 30_000;
const HEALTHY_WITHIN_MS = 60_000;
/** How long a row waits for late events and tasks before counting them lost. */
const SETTLE_MS = 45_000;
/** The discord.js bot's shards (the sim's shard count). */
const BOT_SHARDS = 4;

interface Row {
  scenario: string;
  botLost: string;
  amqpLost: string;
  tasks: string;
  clustersKilled: string;
  healthy: string;
  problems: string[];
}

interface Fault {
  /** Clusters this scenario kills on purpose (not counted as collateral). */
  deliberate?: number;
  /** Injects the fault and ends it (restart, resume); returns when the fault is over. */
  run: (s: ChaosStack) => Promise<void>;
  /** What else must hold to be healthy again (e.g. a killed cluster replaced). */
  recovered?: (s: ChaosStack, botOffset: number) => Promise<string> | string;
  /** Problems to report once healthy; `botOffset` is where the bot's output stood at the fault. */
  check?: (s: ChaosStack, botOffset: number) => string[];
}

let killedCluster: number | undefined;

const SCENARIOS: [string, Fault][] = [
  // Down for 5 s so events queue upstream; the bot must RESUME its sessions on the new proxy
  // (which replays what it missed): a re-IDENTIFY would hide a loss behind a fresh session.
  ['kill -9 proxy', {
    run: async (s) => {
      await s.proxy.stop('SIGKILL');
      await sleep(5_000);
      s.proxy = await s.startProxy();
    },
    recovered: (s, offset) => {
      const back = s.botSessions(offset).size;
      return back < BOT_SHARDS ? `${back} of the bot's ${BOT_SHARDS} shards reconnected` : '';
    },
    check: (s, offset) => {
      const identified = [...s.botSessions(offset)].filter(([, how]) => how.includes('READY')).map(([shard]) => shard);
      return identified.length ? [`the bot re-identified shard(s) ${identified.join(', ')}: its sessions did not survive the proxy`] : [];
    },
  }],
  ['kill -9 bot cluster 0', {
    deliberate: 1,
    run: async (s) => {
      killedCluster = (await s.clusters()).find((c) => c.id === 0)?.pid ?? undefined;
      assert.ok(killedCluster, 'cluster 0 has a pid');
      process.kill(killedCluster, 'SIGKILL');
    },
    recovered: async (s) => ((await s.clusters()).find((c) => c.id === 0)?.pid === killedCluster ? 'cluster 0 not replaced yet' : ''),
  }],
  ['kill -9 jobserver (one of two)', { run: async (s) => {
    await s.jobs[0]!.stop('SIGKILL');
    s.jobs[0] = await s.startJobs(0);
  } }],
  // The clusters are the webserver's children and leave with it (bot/clusterer-link.ts: an
  // orphan must not keep holding shards), so their restart is the fault's, not collateral.
  ['kill -9 webserver (clusterer)', {
    deliberate: 2,
    run: async (s) => {
      await s.web.stop('SIGKILL');
      s.web = await s.startWeb();
    },
  }],
  ['Redis down 30 s (restart loses data)', { run: async (s) => {
    await s.redis.stop();
    await sleep(OUTAGE_MS);
    await s.redis.start();
  } }],
  ['RabbitMQ down 30 s', { run: async (s) => {
    await s.rabbit.stop();
    await sleep(OUTAGE_MS);
    await s.rabbit.start();
  } }],
  ['Postgres down 30 s', { run: async (s) => {
    await s.postgres.stop();
    await sleep(OUTAGE_MS);
    await s.postgres.start();
  } }],
  ['SIGSTOP jobserver 15 s (lease 5 s)', { run: async (s) => {
    s.jobs[0]!.child.kill('SIGSTOP');
    await sleep(15_000);
    s.jobs[0]!.child.kill('SIGCONT');
  } }],
];

describe('chaos: nothing lost, nothing done twice', () => {
  const stack = new ChaosStack();
  const rows: Row[] = [];
  /** Events and tasks are counted from this point (after warm-up) on. */
  let since = 0;

  before(async () => {
    await stack.start();
    stack.startLoad();
    await sleep(5_000);
    since = Date.now();
  });

  after(async () => {
    const table = [
      '| scenario | events lost (bot) | events lost (amqp) | tasks lost/twice | clusters killed | back to healthy |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.scenario} | ${r.botLost} | ${r.amqpLost} | ${r.tasks} | ${r.clustersKilled} | ${r.healthy} |`),
    ].join('\n');
    const problems = rows.filter((r) => r.problems.length).map((r) => `- ${r.scenario}: ${r.problems.join('; ')}`).join('\n');
    const report = `${table}\n\n${problems || 'every row: nothing lost'}\n`;
    const dir = join(tmpdir(), `splashtail-chaos-${Date.now()}`);
    stack.saveLogs(dir);
    writeFileSync(join(dir, 'report.md'), report);
    process.stdout.write(`\n${report}\n(also in ${dir}/report.md, with the services' logs)\n`);
    await stack.stop();
  });

  for (const [name, fault] of SCENARIOS) {
    it(name, async () => {
      const row: Row = { scenario: name, botLost: '?', amqpLost: '?', tasks: '?', clustersKilled: '?', healthy: '?', problems: [] };
      rows.push(row);
      // A row starts from a healthy stack, so what the previous fault left behind is not counted here.
      let before = '';
      await waitUntil('healthy before the fault', async () => (before = await stack.unhealthy()) === '', HEALTHY_WITHIN_MS).catch(() => row.problems.push(`started unhealthy: ${before}`));
      const start = Date.now();
      const botOffset = stack.bot.output().length;
      const pidsBefore = new Map((await stack.clusters().catch(() => [])).map((c) => [c.id, c.pid]));
      try {
        await fault.run(stack);
        const over = Date.now();
        // A process that died of the fault is a failure of the row, restarted for the next ones.
        let watching = true;
        const watcher = (async () => {
          while (watching) {
            const crashed = await stack.restartCrashed().catch((err: Error) => [`restart failed: ${err.message}`]);
            row.problems.push(...crashed.map((c) => `crashed: ${c}`));
            await sleep(1_000);
          }
        })();
        let why = '';
        await waitUntil('healthy again', async () => (why = (await stack.unhealthy()) || (await fault.recovered?.(stack, botOffset)) || '') === '', HEALTHY_WITHIN_MS).then(
          () => (row.healthy = `${((Date.now() - over) / 1000).toFixed(1)} s`),
          () => {
            row.healthy = `not in ${HEALTHY_WITHIN_MS / 1000} s`;
            row.problems.push(`not healthy after ${HEALTHY_WITHIN_MS / 1000} s: ${why}`);
          },
        );
        watching = false;
        await watcher;
        row.problems.push(...(fault.check?.(stack, botOffset) ?? []));
      } catch (err) {
        row.healthy = 'fault failed';
        row.problems.push(`fault: ${(err as Error).message}`);
      }
      const end = Date.now();
      const pidsAfter = await stack.clusters().catch(() => []);
      const changed = pidsAfter.filter((c) => pidsBefore.has(c.id) && pidsBefore.get(c.id) !== c.pid).length;
      const collateral = Math.max(0, changed - (fault.deliberate ?? 0));
      row.clustersKilled = fault.deliberate ? `${collateral} (+${fault.deliberate} ours)` : String(collateral);
      if (collateral) row.problems.push(`${collateral} cluster(s) restarted that the fault did not target`);

      // Events posted from the scenario's start (or the warm-up's end) until it was healthy again.
      const window = stack.posted.filter((p) => p.at >= Math.max(start, since) && p.at <= end).map((p) => p.n);
      const settle = Date.now() + SETTLE_MS;
      const missing = (seen: number[]) => {
        const set = new Set(seen);
        return window.filter((n) => !set.has(n));
      };
      while (Date.now() < settle && (missing(stack.botSeen()).length || missing(stack.amqpSeen).length)) await sleep(500);
      // Repeats: the bot must get each event once; RabbitMQ is at least once (a consumer
      // de-duplicates by shard and s), so its repeats are reported, not failed.
      const inWindow = new Set(window);
      const repeated = (received: number[]) => {
        const counts = new Map<number, number>();
        for (const n of received) if (inWindow.has(n)) counts.set(n, (counts.get(n) ?? 0) + 1);
        return [...counts.values()].filter((c) => c > 1).length;
      };
      const botTwice = repeated(stack.botReceived());
      const amqpTwice = repeated([...stack.amqpSeen, ...stack.amqpRepeats]);
      for (const [label, seen, key, twice] of [['bot', stack.botSeen(), 'botLost', botTwice], ['amqp', stack.amqpSeen, 'amqpLost', amqpTwice]] as const) {
        const lost = missing(seen).length;
        const late = outOfOrder(stack, window, seen);
        const notes = [late && `${late} out of order`, twice && `${twice} twice`].filter(Boolean);
        row[key] = `${lost} of ${window.length}${notes.length ? ` (${notes.join(', ')})` : ''}`;
        if (lost) row.problems.push(`${label}: ${lost} events lost (e.g. c${missing(seen).slice(0, 5).join(', c')})`);
        if (late) row.problems.push(`${label}: ${late} events out of order`);
        if (twice && label === 'bot') row.problems.push(`bot: ${twice} events received twice`);
      }

      // Tasks created in the window, and the ones in flight when it began: each must complete, once.
      const tasks = stack.tasks.filter((t) => t.at >= Math.max(start - 6_000, since) && t.at <= end);
      const final = new Map<string, { state: string; finals: number }>();
      const taskDeadline = Date.now() + SETTLE_MS;
      for (;;) {
        for (const t of tasks) {
          const got = await stack.task(t.id);
          if (got && !['pending', 'running'].includes(got.state)) {
            // The last status is the result; a task finished twice carries it twice.
            final.set(t.id, { state: got.state, finals: got.statuses.filter((x) => x.msg === got.statuses.at(-1)?.msg).length });
          }
        }
        if (final.size === tasks.length || Date.now() > taskDeadline) break;
        await sleep(1_000);
      }
      const lostTasks = tasks.filter((t) => final.get(t.id)?.state !== 'completed').length;
      const twice = [...final.values()].filter((f) => f.finals > 1).length;
      row.tasks = `${lostTasks}/${twice} of ${tasks.length}`;
      if (lostTasks) row.problems.push(`${lostTasks} task(s) not completed: ${tasks.filter((t) => final.get(t.id)?.state !== 'completed').map((t) => `${t.id.slice(0, 8)}=${final.get(t.id)?.state ?? 'unfinished'}`).join(', ')}`);
      if (twice) row.problems.push(`${twice} task(s) finished twice`);

      assert.deepEqual(row.problems, [], `${name}:\n${row.problems.join('\n')}`);
    });
  }
});

/** Per guild (so per shard), how many events came after a later one of the same guild. */
function outOfOrder(stack: ChaosStack, window: number[], seen: number[]): number {
  const guildOf = new Map(stack.posted.map((p) => [p.n, p.guild]));
  const inWindow = new Set(window);
  const last = new Map<string, number>();
  let late = 0;
  for (const n of seen) {
    if (!inWindow.has(n)) continue;
    const guild = guildOf.get(n)!;
    if ((last.get(guild) ?? -1) > n) late++;
    else last.set(guild, n);
  }
  return late;
}
