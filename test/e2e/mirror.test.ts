// `splashtail mirror` end to end: messages posted in the sim, published by the proxy to RabbitMQ,
// mirrored by a node through webhooks into the sim; what the target channel holds is counted
// through the sim's REST API, not by the mirror.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { AMQP_URL } from '../helpers/services';
import { mirrorStack, type SimMessage, waitUntil } from '../helpers/mirror';

describe('splashtail mirror', () => {
  let s: Awaited<ReturnType<typeof mirrorStack>>;
  let src: { guild: string; channel: string };
  let dst: { guild: string; channel: string };
  let link: Awaited<ReturnType<typeof s.link>>;

  before(async () => {
    s = await mirrorStack();
    const [a, b] = s.guilds;
    src = { guild: a!.id, channel: await s.createChannel(a!.id, 'mirror-source') };
    dst = { guild: b!.id, channel: await s.createChannel(b!.id, 'mirror-target') };
    link = await s.link(src, dst);
    await s.startNode();
  });
  after(async () => {
    await s?.stop();
  });

  const targetIdOf = async (linkId: number, sourceId: string) =>
    ((await s.pool.query('select target_message_id from mirror_messages where link_id = $1 and source_message_id = $2', [linkId, sourceId])).rows[0]?.target_message_id ?? undefined) as string | undefined;

  it('mirrors create, edit, delete, bulk delete and a reply, in order', async () => {
    const first = await s.say(src.guild, src.channel, 'hello <@&1> @everyone', {
      attachments: [{ filename: 'a.txt', content_type: 'text/plain', data: Buffer.from('file').toString('base64') }],
    });
    const second = await s.say(src.guild, src.channel, 'second');
    const third = await s.say(src.guild, src.channel, 'third');
    await s.rest('PATCH', `/channels/${src.channel}/messages/${second.id}`, { content: 'never: only its author edits' }).catch(() => {});
    await fetch(`${s.simUrl}/_sim/guilds/${src.guild}/channels/${src.channel}/messages/${first.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'hello, edited' }) });
    const reply = await s.rest<SimMessage>('POST', `/channels/${src.channel}/messages`, { content: 'a reply', message_reference: { message_id: first.id } });
    await fetch(`${s.simUrl}/_sim/guilds/${src.guild}/channels/${src.channel}/messages/${third.id}`, { method: 'DELETE' });
    const x = await s.say(src.guild, src.channel, 'bulk x');
    const y = await s.say(src.guild, src.channel, 'bulk y');
    await s.rest('POST', `/channels/${src.channel}/messages/bulk-delete`, { messages: [x.id, y.id] });
    const last = await s.say(src.guild, src.channel, 'last');

    await waitUntil('the last message mirrored', async () => (await targetIdOf(link.id, last.id)) !== undefined);
    await waitUntil('bulk delete mirrored', async () => (await s.messages(dst.channel)).length === 4);
    const target = await s.messages(dst.channel);
    assert.deepEqual(target.map((m) => m.content.split('\n')[0]), ['hello, edited', 'second', '> ↪ Replying to **' + first.author.username + '**: hello, edited (https://discord.com/channels/' + dst.guild + '/' + dst.channel + '/' + target[0]!.id + ')', 'last']);
    for (const m of target) assert.equal(m.webhook_id, link.webhook_id, 'posted by the link webhook');
    assert.equal(target[0]!.author.username, first.author.username, 'author name on the webhook');
    assert.match(target[0]!.content, /\/cdn\/attachments\/.*\/a\.txt$/m, 'attachment as a link');
    assert.ok(target[0]!.edited_timestamp, 'edit followed');
    assert.equal(target[2]!.content.split('\n')[1], 'a reply');
    assert.equal(await targetIdOf(link.id, reply.id), target[2]!.id);
    assert.equal(await targetIdOf(link.id, third.id), undefined, 'a deleted message leaves the id map');
  });

  it('two-way links do not loop: a copy is never mirrored back', async () => {
    const [a, , c] = s.guilds;
    const left = { guild: a!.id, channel: await s.createChannel(a!.id, 'two-way-left') };
    const right = { guild: c!.id, channel: await s.createChannel(c!.id, 'two-way-right') };
    await s.link(left, right);
    await s.link(right, left);
    await s.say(left.guild, left.channel, 'ping');
    await waitUntil('ping mirrored right', async () => (await s.messages(right.channel)).length === 1);
    await s.say(right.guild, right.channel, 'pong');
    await waitUntil('pong mirrored left', async () => (await s.messages(left.channel)).length === 2);
    // Each channel's events are handled in order: once the sentinels arrive, a loop would have shown.
    await s.say(right.guild, right.channel, 'sentinel right');
    await s.say(left.guild, left.channel, 'sentinel left');
    await waitUntil('sentinels mirrored', async () => (await s.messages(left.channel)).length >= 4 && (await s.messages(right.channel)).length >= 4);
    // The two sentinels come from two channels, so either may arrive first.
    for (const side of [left, right]) {
      const contents = (await s.messages(side.channel)).map((m) => m.content);
      assert.deepEqual(contents.slice(0, 2), ['ping', 'pong']);
      assert.deepEqual(contents.slice(2).sort(), ['sentinel left', 'sentinel right']);
    }
  });

  it('a redelivery after a crash posts nothing twice: a pending row is settled from the target', async () => {
    const [a, b] = s.guilds;
    const source = { guild: a!.id, channel: await s.createChannel(a!.id, 'redelivery-source') };
    const target = { guild: b!.id, channel: await s.createChannel(b!.id, 'redelivery-target') };
    // The messages are written in a channel no link reads (the proxy's own delivery of them must not
    // race the rows below) and replayed as the source's. Then the state a node leaves when it dies
    // mid-send: `posted` reached the target but its row stayed pending, `lost` never left the node.
    const scratch = await s.createChannel(a!.id, 'redelivery-scratch');
    const posted = { ...(await s.say(source.guild, scratch, 'sent before the crash')), channel_id: source.channel };
    const lost = { ...(await s.say(source.guild, scratch, 'lost in the crash')), channel_id: source.channel };
    const l = await s.link(source, target);
    const copy = await s.rest<SimMessage>('POST', `/webhooks/${l.webhook_id}/${l.webhook_token}?wait=true`, { content: posted.content, username: 'x' });
    for (const m of [posted, lost]) {
      await s.pool.query(`insert into mirror_messages (link_id, source_message_id, created_at, expires_at) values ($1, $2, now() - interval '1 minute', now() + interval '1 day')`, [l.id, m.id]);
    }
    // RabbitMQ redelivers both events.
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    for (const m of [posted, lost]) channel.publish(s.exchange, 'MESSAGE_CREATE', Buffer.from(JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s: 1, shard: 0, d: { ...m, guild_id: source.guild } })));
    await channel.waitForConfirms();
    await connection.close();

    await waitUntil('both rows settled', async () => (await targetIdOf(l.id, lost.id)) !== undefined && (await targetIdOf(l.id, posted.id)) !== undefined);
    assert.equal(await targetIdOf(l.id, posted.id), copy.id, 'the copy already in the target is recorded');
    assert.deepEqual((await s.messages(target.channel)).map((m) => m.content), ['sent before the crash', 'lost in the crash']);
  });

  it('an update carrying only what changed keeps the reply line and the content', async () => {
    const [a, b] = s.guilds;
    const source = { guild: a!.id, channel: await s.createChannel(a!.id, 'partial-source') };
    const target = { guild: b!.id, channel: await s.createChannel(b!.id, 'partial-target') };
    await s.link(source, target);
    const first = await s.say(source.guild, source.channel, 'the question');
    const reply = await s.rest<SimMessage>('POST', `/channels/${source.channel}/messages`, { content: 'the answer', message_reference: { message_id: first.id } });
    await waitUntil('both mirrored', async () => (await s.messages(target.channel)).length === 2);
    const before = (await s.messages(target.channel))[1]!.content;
    assert.match(before, /^> ↪ Replying to .*\nthe answer$/);
    // What an older gateway sends when only the embeds changed: no type, no content.
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    const partial = { id: reply.id, channel_id: source.channel, guild_id: source.guild, embeds: [{ title: 'unfurled', type: 'rich' }] };
    channel.publish(s.exchange, 'MESSAGE_UPDATE', Buffer.from(JSON.stringify({ op: 0, t: 'MESSAGE_UPDATE', s: 1, shard: 0, d: partial })));
    await channel.waitForConfirms();
    await connection.close();
    await waitUntil('the edit mirrored', async () => (await s.messages(target.channel))[1]!.edited_timestamp !== null);
    assert.equal((await s.messages(target.channel))[1]!.content, before, 'reply line and content kept');
  });

  it('a deleted target channel ends its link', async () => {
    const [a, b] = s.guilds;
    const source = { guild: a!.id, channel: await s.createChannel(a!.id, 'ends-source') };
    const target = { guild: b!.id, channel: await s.createChannel(b!.id, 'ends-target') };
    const l = await s.link(source, target);
    await s.rest('DELETE', `/channels/${target.channel}`);
    await waitUntil('link removed', async () => (await s.pool.query('select 1 from mirror_links where id = $1', [l.id])).rowCount === 0);
  });

  it('serves /metrics and stops on SIGTERM with exit 0', async () => {
    const node = await s.startNode();
    const metrics = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
    assert.match(metrics, /^mirror_amqp_connected\{service="mirror"\} 1$/m);
    assert.equal(await node.stop('SIGTERM'), 0);
    assert.match(node.output(), /"msg":"shutting down"/);
  });
});
