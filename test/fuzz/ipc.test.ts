// Fuzz of the clusterer's Redis IPC channel: generated messages (hostile shapes, wrong types,
// unknown scopes and actions, oversize payloads) published where the clusterer and its clusters
// listen. Every request with a command_id gets exactly one reply (none to a reply, scope "bot"),
// no reply leaks a stack, every process keeps its pid and the clusterer's RSS stays flat.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { writeTestConfig } from '../helpers/config';
import { FUZZ_RUNS, assertNoLeak, fuzzParams, hostileJson, hostileString, rssOf } from '../helpers/fuzz';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { REDIS_URL, uniqueName } from '../helpers/services';
import { poll } from '../helpers/deadline';

interface Status {
  id: number;
  state: string;
  pid: number | null;
}
interface Reply {
  output: unknown;
  raw: string;
}
interface Sent {
  id: string;
  text: string;
  /** Whether the clusterer owes it one reply (a request), or none (a reply, scope "bot"). */
  owed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Well-formed, these really stop or restart a cluster: sent only with an id that is no cluster. */
const DESTRUCTIVE = new Set(['stop', 'restart']);
const ACTIONS = ['launch_next', 'start', 'stop', 'restart', 'statuses', 'diag', 'action_logs', 'reshard', 'num_processes'];

describe('fuzz: clusterer IPC channel', () => {
  let sim: Running;
  let web: Running;
  let api: string;
  let channel: string;
  let pub: Redis;
  let sub: Redis;
  const replies = new Map<string, Reply[]>();
  let seq = 0;
  const nextId = () => `fz-${seq++}`;

  const statuses = async () => ((await (await fetch(`${api}/clusters`)).json()) as { clusters: Status[] }).clusters;
  const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000) =>
    poll(what, fn, timeoutMs, () => `; webserver output:\n${web.output().slice(-3000)}`);

  const message: fc.Arbitrary<Sent> = fc
    .oneof(
      // The envelope with hostile values in every field (shutdown, restartproc and
      // rollingrestart are never generated: cycling every cluster is their job).
      fc.record(
        {
          scope: fc.oneof(fc.constant('launcher'), fc.constant('bot'), hostileJson),
          action: fc.oneof(fc.constantFrom(...ACTIONS), hostileString, hostileJson),
          args: fc.oneof(hostileJson, fc.record({ id: hostileJson })),
          output: hostileJson,
          extra: hostileJson,
        },
        { requiredKeys: [] },
      ),
      // Well-formed launcher requests with wrong args.
      fc.record({ scope: fc.constant('launcher'), action: fc.constantFrom(...ACTIONS), args: fc.oneof(hostileJson, fc.record({ id: hostileJson })) }),
    )
    .map((fields) => {
      const id = nextId();
      const m: Record<string, unknown> = { ...fields, command_id: id };
      const argsId = (m.args as { id?: unknown } | null | undefined)?.id;
      if (typeof m.action === 'string' && DESTRUCTIVE.has(m.action) && (argsId === 0 || argsId === 1)) m.args = { id: 'not-a-cluster' };
      if (m.action === 'shutdown' || m.action === 'restartproc' || m.action === 'rollingrestart') m.action = 'statuses';
      return { id, text: JSON.stringify(m), owed: m.scope !== 'bot' };
    });

  before(async () => {
    const simPort = await freePort();
    sim = start(['sim', '--port', String(simPort), '--shards', '2', '--guilds', '4', '--max-concurrency', '2', '--identify-interval-ms', '0']);
    const simUrl = (await sim.waitFor(/^sim listening on /)).split(' ').at(-1)!;
    const port = await freePort();
    channel = uniqueName('st_ipc_fuzz');
    const { path } = writeTestConfig({
      'discord_auth.api_url': `${simUrl}/api`,
      'meta.port': port,
      'meta.bot_iserver_base_port': await freePort(),
      'clusterer.redis_channel': channel,
      'clusterer.per_cluster': 1,
      'clusterer.ping_interval': 500,
      'clusterer.ping_timeout': 5000,
      'clusterer.cluster_start_next_delay': 100,
    });
    api = `http://127.0.0.1:${port}`;
    // A small old space: a leak in the clusterer fills it and fails the test, where RSS alone would not tell.
    web = start(['webserver', '--config', path], { env: { NODE_OPTIONS: '--max-old-space-size=96' } });
    pub = new Redis(REDIS_URL);
    sub = new Redis(REDIS_URL);
    await sub.subscribe(channel);
    sub.on('message', (_c: string, raw: string) => {
      let m: { scope?: unknown; command_id?: unknown; output?: unknown } | null;
      try {
        m = JSON.parse(raw) as typeof m;
      } catch {
        return;
      }
      if (typeof m !== 'object' || m === null || m.scope !== 'bot' || typeof m.command_id !== 'string' || !m.command_id.startsWith('fz-')) return;
      if (sent.get(m.command_id)?.text === raw) return; // our own scope-"bot" message, not a reply
      const list = replies.get(m.command_id) ?? [];
      list.push({ output: m.output, raw });
      replies.set(m.command_id, list);
    });
  });

  after(async () => {
    await web?.stop();
    await sim?.stop();
    await pub?.quit();
    await sub?.quit();
  });

  const sent = new Map<string, Sent>();
  const send = async (batch: Sent[]) => {
    for (const m of batch) {
      sent.set(m.id, m);
      await pub.publish(channel, m.text);
    }
  };
  const owed = () => [...sent.values()].filter((m) => m.owed).map((m) => m.id);

  it(`answers each of ${FUZZ_RUNS}+ generated requests exactly once and stays up`, async () => {
    const up = await waitFor('both clusters up', async () => {
      const s = await statuses();
      return s.length === 2 && s.every((c) => c.state === 'up') && s;
    });
    const pids = up.map((c) => c.pid);
    // Every kind of request, oversize ones too, and their replies: run once as a warm-up (the
    // first of each kind loads and compiles code), then again measured, so RSS growth means a leak.
    const round = async (seed: number) => {
      await fc.assert(fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), send), { ...fuzzParams(), seed });
      // Raw texts (not JSON, not objects, bad command_id: nothing to address a reply to) and
      // oversize messages, refused unparsed but still answered by their command_id.
      const pad = 'x'.repeat(1_200_000);
      const [bigRequest, bigUnknown, bigReply] = [nextId(), nextId(), nextId()];
      await send([
        ...['{', '[]', 'null', '"s"', '{"command_id":"fz-raw"', '{"scope":"launcher","action":"diag","command_id":7}'].map((text, i) => ({ id: `raw-${seed}-${i}`, text, owed: false })),
        { id: bigRequest, text: JSON.stringify({ scope: 'launcher', action: 'statuses', command_id: bigRequest, args: { pad } }), owed: true },
        { id: bigUnknown, text: JSON.stringify({ command_id: bigUnknown, scope: 'launcher', action: 'x', data: pad }), owed: true },
        { id: bigReply, text: JSON.stringify({ scope: 'bot', command_id: bigReply, output: pad }), owed: false },
      ]);
      await waitFor(`a reply to each of ${owed().length} requests`, async () => owed().every((id) => replies.has(id)));
      return bigRequest;
    };
    await round(fuzzParams().seed! + 1);
    await sleep(1_500);
    const rssBefore = rssOf(web.child.pid!);
    const bigRequest = await round(fuzzParams().seed!);
    assert.ok(owed().length >= FUZZ_RUNS, `${owed().length} requests sent`);
    await sleep(1_500);

    for (const m of sent.values()) assert.equal(replies.get(m.id)?.length ?? 0, m.owed ? 1 : 0, `${m.text.slice(0, 200)}: ${m.owed ? 'exactly one reply' : 'no reply to a reply'}`);
    for (const list of replies.values()) for (const r of list) assertNoLeak(r.raw, []);
    assert.match((replies.get(bigRequest)![0]!.output as { error: string }).error, /too large/);

    const now = await statuses();
    assert.deepEqual(now.map((c) => [c.state, c.pid]), pids.map((pid) => ['up', pid]), 'clusters kept their pids');
    assert.equal(web.child.exitCode, null, 'clusterer still running');
    const rssAfter = rssOf(web.child.pid!);
    // Loose: under CI load V8 grows the heap 25-30 MiB before collecting; the 96 MiB old space
    // above is what catches a steady leak (a 200 KB-per-message one ran it out of memory: red).
    assert.ok(rssAfter - rssBefore < 64 * 2 ** 20, `clusterer RSS grew from ${rssBefore} to ${rssAfter} over a round after the warm-up one`);

    // A well-formed request still works.
    const id = nextId();
    await send([{ id, text: JSON.stringify({ scope: 'launcher', action: 'num_processes', command_id: id }), owed: true }]);
    const reply = await waitFor('the num_processes reply', async () => replies.get(id)?.[0]);
    assert.equal(reply.output, 2);
  });
});
