// The mirror's edge: gateway bodies parsed without throwing, the bad field named; the partition
// of a channel is stable; a mirrored message renders with no mentions and a safe webhook name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { laneKey, parseEvent } from '../../mirror/events';
import { partitionOf } from '../../mirror/queues';
import { renderCreate, webhookName } from '../../mirror/render';

const body = (t: string, d: unknown) => Buffer.from(JSON.stringify({ op: 0, t, s: 1, shard: 0, d }));
const user = { id: '100000000000000001', username: 'Clyde discord fan', discriminator: '0', global_name: null, avatar: null };

describe('mirror events', () => {
  it('names what is wrong with a body, never throws', () => {
    assert.deepEqual(parseEvent(Buffer.from('{')), { ok: false, error: 'body is not JSON' });
    assert.deepEqual(parseEvent(Buffer.from('[]')), { ok: false, error: 'body is not an object' });
    assert.deepEqual(parseEvent(body('MESSAGE_CREATE', null)), { ok: false, error: 'd is not an object' });
    assert.deepEqual(parseEvent(body('MESSAGE_CREATE', { id: 'x', channel_id: '1' })), { ok: false, error: 'MESSAGE_CREATE: d.id is missing or not a Discord id' });
    assert.deepEqual(parseEvent(body('MESSAGE_CREATE', { id: '1', channel_id: '2' })), { ok: false, error: 'MESSAGE_CREATE: d.author is not an object' });
    assert.deepEqual(parseEvent(body('MESSAGE_DELETE_BULK', { ids: ['1', 2], channel_id: '2' })), { ok: false, error: 'MESSAGE_DELETE_BULK: d.ids is missing or not a Discord id' });
    assert.equal(parseEvent(body('GUILD_DELETE', { id: '5', unavailable: true })).ok, false, 'an outage is not the bot leaving');
    assert.equal(parseEvent(body('TYPING_START', {})).ok, false);
  });

  it('lanes by source channel (by guild for GUILD_DELETE)', () => {
    const bulk = parseEvent(body('MESSAGE_DELETE_BULK', { ids: ['1', '2'], channel_id: '9' }));
    assert.ok(bulk.ok);
    assert.deepEqual(bulk.event, { kind: 'delete', channelId: '9', ids: ['1', '2'] });
    assert.equal(laneKey(bulk.event), '9');
    const guild = parseEvent(body('GUILD_DELETE', { id: '5' }));
    assert.ok(guild.ok);
    assert.equal(laneKey(guild.event), 'guild:5');
  });

  it('a channel always maps to one partition, and channels spread over all of them', () => {
    assert.equal(partitionOf('1234567890123456789', 8), partitionOf('1234567890123456789', 8));
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(String(1_000_000_000_000_000n + BigInt(i) * 4_194_304n), 8)));
    assert.equal(used.size, 8);
  });

  it('renders with no mentions, a name Discord accepts and attachments as links', () => {
    const rendered = renderCreate(
      { author: user, content: '@everyone hi', embeds: [], attachments: [{ id: '1', filename: 'a.png', size: 1, url: 'https://cdn/a.png', proxy_url: 'https://cdn/a.png' }], type: 0 },
      { cdn: 'https://cdn.example' },
    );
    assert.deepEqual(rendered?.allowed_mentions, { parse: [] });
    assert.equal(rendered?.content, '@everyone hi\nhttps://cdn/a.png');
    assert.doesNotMatch(webhookName(user), /clyde|discord/i);
    assert.match(rendered!.avatar_url!, /^https:\/\/cdn\.example\/embed\/avatars\/\d\.png$/);
    assert.equal(renderCreate({ author: user, content: '', embeds: [], attachments: [], type: 0 }, { cdn: '' }), undefined, 'nothing to post');
  });
});
