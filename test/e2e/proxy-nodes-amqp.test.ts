// Issue #11: every node consumes the one `gateway.send` queue, so a command for a shard that
// another node runs is given back to the queue until its owner takes it, including while the
// shard fails over to a new owner. Counted by the sim: each op 1 (reconnect) is a RESUME there.
// And the events posted across a kill -9 all reach a RabbitMQ consumer: no gap.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { Deployment, type ProxyNode, waitUntil } from '../helpers/proxy-nodes';
import { AMQP_URL, uniqueName } from '../helpers/services';

const SHARDS = 8;

describe('proxy nodes: gateway.send commands reach the shard owner (#11)', () => {
  const names = { exchange: uniqueName('st_gw'), send: uniqueName('st_send') };
  const d = new Deployment({
    shards: SHARDS, maxConcurrency: 4, identifyIntervalMs: 100, leaseSeconds: 3,
    config: { 'meta.amqp_url': AMQP_URL, 'proxy.amqp.enabled': true, 'proxy.amqp.exchange': names.exchange, 'proxy.amqp.send_queue': names.send },
  });
  let admin: amqp.ChannelModel;
  let ch: amqp.Channel;
  let via: ProxyNode;
  const resumes = async () => {
    const all = await d.allConnections();
    return all.map((s) => s.connections.filter((c) => c.started === 'RESUME').length);
  };
  const outcome = async (node: ProxyNode, name: string) =>
    Number(new RegExp(`^proxy_amqp_commands_total\\{[^}]*outcome="${name}"[^}]*\\} (\\d+)`, 'm').exec(await (await fetch(`${node.url}/metrics`)).text())?.[1] ?? 0);
  /** MESSAGE_CREATEs posted every 50 ms over all guilds, and what a RabbitMQ consumer got of them. */
  const traffic = async () => {
    const events = await ch.assertQueue(uniqueName('st_q'), { exclusive: true });
    await ch.bindQueue(events.queue, names.exchange, 'MESSAGE_CREATE');
    const received: string[] = [];
    const { consumerTag } = await ch.consume(events.queue, (msg) => {
      if (msg) received.push((JSON.parse(msg.content.toString()) as { d: { content: string } }).d.content);
    }, { noAck: true });
    const guilds = (await (await fetch(`${d.simUrl}/_sim/guilds`)).json()) as { id: string; shard: number; channels: { id: string; name: string }[] }[];
    const posted: string[] = [];
    let posting = true;
    const tag = uniqueName('m');
    const poster = (async () => {
      for (let i = 0; posting; i++) {
        const g = guilds[i % guilds.length]!;
        const content = `${tag} ${i} shard ${g.shard}`;
        const res = await fetch(`${d.simUrl}/_sim/guilds/${g.id}/channels/${g.channels.find((c) => c.name === 'general')!.id}/messages`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }),
        });
        if (res.ok) posted.push(content);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return {
      posted, received,
      /** Stops posting and waits until every posted message arrived; returns how many arrived twice. */
      async finish(): Promise<number> {
        posting = false;
        await poster;
        await waitUntil('every posted message at the consumer', () => posted.every((m) => received.includes(m)), 20_000, () => `missing: ${posted.filter((m) => !received.includes(m)).join(', ')}`);
        await ch.cancel(consumerTag);
        return received.length - new Set(received).size;
      },
    };
  };
  const reconnectAll = () => {
    for (let shard = 0; shard < SHARDS; shard++) ch.sendToQueue(names.send, Buffer.from(JSON.stringify({ op: 1, shard })));
  };

  before(async () => {
    await d.startSim();
    await Promise.all(['a', 'b'].map((n) => d.startNode(`node-${n}`)));
    via = d.nodes.get('node-a')!;
    admin = await amqp.connect(AMQP_URL);
    ch = await admin.createChannel();
    await waitUntil('every shard Ready', () => d.allReadyOn(via, ['node-a', 'node-b']), 60_000, () => d.output());
  });

  after(async () => {
    await d.close();
    for (const q of [`${names.exchange}.recv`, names.send, `${names.send}.retry`, `${names.send}.dlq`]) await ch.deleteQueue(q);
    await ch.deleteExchange(names.exchange);
    await admin.close();
  });

  it('a command for any shard is run by the node that owns it, none rejected', async () => {
    const before = await resumes();
    reconnectAll();
    await waitUntil('every shard RESUMEd once more', async () => (await resumes()).every((n, shard) => n === before[shard]! + 1), 30_000, () => d.output());
    assert.equal((await ch.checkQueue(names.send)).messageCount, 0);
    assert.doesNotMatch(d.output(), /rejected a gateway.send message/);
    const nodes = [...d.nodes.values()];
    const done = await Promise.all(nodes.map((n) => outcome(n, 'done')));
    assert.equal(done[0]! + done[1]!, SHARDS, 'each command ran once');
    assert.ok(done.every((n) => n > 0), 'on both nodes');
    const requeued = await Promise.all(nodes.map((n) => outcome(n, 'requeued')));
    assert.ok(requeued.some((n) => n > 0), 'some commands went back to the queue for the other node');
  });

  it('commands sent while their shards fail over wait for the new owner; no event is missing at a consumer', async () => {
    const victim = d.nodes.get('node-b')!;
    const t = await traffic();
    const [doneBefore, requeuedBefore] = [await outcome(via, 'done'), await outcome(via, 'requeued')];
    await victim.proc.stop('SIGKILL');
    reconnectAll();
    await waitUntil('node-a ran every command', async () => (await outcome(via, 'done')) === doneBefore + SHARDS, 30_000, () => d.output());
    assert.ok((await outcome(via, 'requeued')) > requeuedBefore, "commands for node-b's shards waited in the queue");
    assert.equal((await ch.checkQueue(names.send)).messageCount, 0);
    await waitUntil('every shard Ready on node-a', () => d.allReadyOn(via, ['node-a']), 15_000, () => d.output());
    assert.doesNotMatch(d.output(), /rejected a gateway.send message/);
    const duplicates = await t.finish();
    console.log(`${t.posted.length} messages across the failover: all received; ${duplicates} duplicates (replayed since the last persisted seq)`);
  });

  it('a node joining, then leaving on SIGTERM: every event reaches the consumer exactly once, no IDENTIFY', async () => {
    const identifies = async () => (await d.allConnections()).flatMap((x) => x.connections.filter((c) => c.started === 'IDENTIFY')).length;
    const identifiesBefore = await identifies();
    const t = await traffic();
    const joining = await d.startNode('node-c');
    await waitUntil('node-c holds its share, all Ready', async () => (await d.shards(via)).filter((r) => r.node === 'node-c').length === SHARDS / 2 && (await d.allReadyOn(via, ['node-a', 'node-c'])), 30_000, () => d.output());
    assert.equal(await joining.proc.stop('SIGTERM'), 0);
    await waitUntil('every shard back on node-a', () => d.allReadyOn(via, ['node-a']), 30_000, () => d.output());
    const duplicates = await t.finish();
    assert.equal(duplicates, 0, 'a hand-off persists the last seq handed on: nothing is replayed twice');
    assert.equal(await identifies(), identifiesBefore, 'no IDENTIFY');
    console.log(`${t.posted.length} messages across a join and a SIGTERM: each received once`);
  });
});
