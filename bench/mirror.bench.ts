// Mirrored messages/s of one mirror node and the latency from a source message to its copy
// (p50/p99, both stamped by the sim's snowflakes), beside the same run's baseline: the same
// messages posted straight to the same webhooks (one sequential poster per channel, as the
// node's lanes are), and the per-webhook rate-limit floor the sim enforces.
import { mirrorStack, waitUntil } from '../test/helpers/mirror';
import { percentile, report } from './lib';

const CHANNELS = Number(process.env.BENCH_MIRROR_CHANNELS ?? 10);
const PER_CHANNEL = Number(process.env.BENCH_MIRROR_MESSAGES ?? 50);
const REST_LIMIT = 1000;
const at = (id: string) => Number((BigInt(id) >> 22n) + 1420070400000n);

async function main(): Promise<void> {
  const s = await mirrorStack({ partitions: 8, restLimit: REST_LIMIT });
  try {
    const pairs = await s.linkedPairs(CHANNELS, 'bench');
    await s.startNode();
    const started = Date.now();
    await Promise.all(pairs.map(async ({ source }, c) => {
      for (let i = 0; i < PER_CHANNEL; i++) await s.say(source.guild, source.channel, `c${c} m${i}`);
    }));
    const total = CHANNELS * PER_CHANNEL;
    await waitUntil('all mirrored', async () => (await s.mirroredCount()) >= total, 600_000);
    const seconds = (Date.now() - started) / 1000;
    const { rows } = await s.pool.query<{ source_message_id: string; target_message_id: string }>('select source_message_id, target_message_id from mirror_messages');
    const latencies = rows.map((r) => at(r.target_message_id) - at(r.source_message_id)).sort((a, b) => a - b);

    // Baseline: the same number of messages straight to the webhooks, one sequential poster per channel.
    const links = (await s.pool.query<{ webhook_id: string; webhook_token: string }>('select webhook_id, webhook_token from mirror_links order by id')).rows;
    const direct: number[] = [];
    const baseStart = Date.now();
    await Promise.all(links.map(async (l) => {
      for (let i = 0; i < PER_CHANNEL; i++) {
        const t = Date.now();
        await s.rest('POST', `/webhooks/${l.webhook_id}/${l.webhook_token}?wait=true`, { content: `direct ${i}`, username: 'bench' });
        direct.push(Date.now() - t);
      }
    }));
    const baseSeconds = (Date.now() - baseStart) / 1000;
    direct.sort((a, b) => a - b);

    report(`mirror: ${total} messages over ${CHANNELS} channels, one node`, `${(total / seconds).toFixed(0)} mirrored/s`, `${(total / baseSeconds).toFixed(0)} webhook posts/s posted directly; sim's per-webhook limit ${REST_LIMIT}/s`);
    report('mirror: source message to its copy', `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`, `a direct webhook post p50 ${percentile(direct, 50)} ms, p99 ${percentile(direct, 99)} ms; rate-limit floor ${(1000 / REST_LIMIT).toFixed(1)} ms per message per webhook`);
  } finally {
    await s.stop();
  }
}

void main();
