// Backup and restore of a sim guild with 50 channels x N messages (BENCH_MESSAGES, default 100;
// the full 500 takes about ten minutes): wall time vs the floor Discord's global limit of 50
// requests/s (which the sim enforces here) sets for the requests made.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOKEN } from '../internal/sim/world';
import { createTestDatabase } from '../test/helpers/services';
import { freePort, report, start, startSim, writeTestConfig } from './lib';

const CHANNELS = 50;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100);
const RATE = 50;
const json = { 'content-type': 'application/json' };

async function main() {
  const { sim, url: simUrl } = await startSim(['--guilds', '1', '--shards', '1', '--rest-limit', String(RATE)]);
  const newGuild = async (name: string) => ((await (await fetch(`${simUrl}/_sim/guilds`, { method: 'POST', headers: json, body: JSON.stringify({ name }) })).json()) as { id: string }).id;
  const source = await newGuild('Bench Source');
  // Both guilds have the sim's default owner, who may restore one's backup into the other.
  const owner = ((await (await fetch(`${simUrl}/_sim/guilds`)).json()) as { id: string; owner_id: string }[]).find((g) => g.id === source)!.owner_id;
  const bot = { authorization: `Bot ${DEFAULT_TOKEN}`, ...json };
  for (let c = 0; c < CHANNELS; c++) {
    const channel = (await (await fetch(`${simUrl}/api/v10/guilds/${source}/channels`, { method: 'POST', headers: bot, body: JSON.stringify({ name: `channel-${c}` }) })).json()) as { id: string };
    for (let m = 0; m < MESSAGES; m++) {
      await fetch(`${simUrl}/_sim/guilds/${source}/channels/${channel.id}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ content: `message ${m} of channel ${c}` }) });
    }
  }
  const db = await createTestDatabase();
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const { path } = writeTestConfig({ 'discord_auth.api_url': `${simUrl}/api`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api, 'object_storage.path': mkdtempSync(join(tmpdir(), 'st-bench-')) });
  const jobs = start(['jobs', '--config', path]);
  await jobs.waitFor(/jobserver listening/);
  const auth = { authorization: 'bot dev-jobserver-bot-secret-0123456789abcdef', ...json };
  const run = async (name: string, guild: string, data: Record<string, unknown>) => {
    const started = Date.now();
    const { task_id } = (await (await fetch(`${api}/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ name, for: guild, data }) })).json()) as { task_id: string };
    for (;;) {
      const task = (await (await fetch(`${api}/tasks/${task_id}`, { headers: auth })).json()) as { state: string; statuses: { msg: string }[] };
      if (task.state === 'completed') return { task_id, seconds: (Date.now() - started) / 1000 };
      if (task.state === 'failed') throw new Error(task.statuses.at(-1)!.msg);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const backup = await run('guild_create_backup', source, { messages_per_channel: MESSAGES, max_messages: CHANNELS * MESSAGES });
  const backupRequests = 3 + CHANNELS * Math.ceil(MESSAGES / 100);
  report(`backup, ${CHANNELS} channels x ${MESSAGES} messages`, `${backup.seconds.toFixed(1)} s`, `rate-limit floor ${(backupRequests / RATE).toFixed(1)} s (${backupRequests} requests at ${RATE}/s)`);
  const restore = await run('guild_restore_backup', await newGuild('Bench Target'), { backup_task_id: backup.task_id, requested_by: owner });
  // Per channel: create it, its webhook look-up and creation, reading it back (what is already there), one post per message.
  const restoreRequests = 6 + CHANNELS * 4 + CHANNELS * Math.ceil(MESSAGES / 100) + CHANNELS * MESSAGES;
  report(`restore, ${CHANNELS} channels x ${MESSAGES} messages`, `${restore.seconds.toFixed(1)} s`, `rate-limit floor ${(restoreRequests / RATE).toFixed(1)} s (~${restoreRequests} requests at ${RATE}/s)`);
  await jobs.stop();
  await sim.stop();
  await db.drop();
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
