// The member-restore routes when they cannot work: without meta.oauth_token_key (off) and with
// Postgres unreachable, each a 503 that names the cause, never a stack trace. The app is built as
// `splashtail webserver` builds it and called with inject(); Redis is the real local one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import YAML from 'yaml';
import { parseConfig } from '../../internal/config';
import { createPool } from '../../internal/db/pool';
import { createRegistry } from '../../internal/metrics';
import { buildApi } from '../../webserver/app';
import { freePort } from '../helpers/ports';
import { ROOT } from '../helpers/process';
import { REDIS_URL } from '../helpers/services';

const GUILD = '123456789012345678';

async function api(changes: Record<string, unknown>) {
  const doc = YAML.parseDocument(readFileSync(`${ROOT}/config.yaml.example`, 'utf8'));
  for (const [path, value] of Object.entries(changes)) {
    if (value === undefined) doc.deleteIn(path.split('.'));
    else doc.setIn(path.split('.'), value);
  }
  const { config } = parseConfig(doc.toString(), { environ: {} });
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  const logger = pino({ level: 'silent' });
  const pool = createPool(config.meta.postgres_url, logger, { max: 2 });
  const clusters = { statuses: () => [], actions: async () => [], control: async () => ({}) };
  const app = await buildApi({ config, logger, registry: createRegistry('test'), redis, pool, clusters });
  return { app, close: async () => { await app.close(); await pool.end(); redis.disconnect(); } };
}

describe('member-restore routes that cannot work', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('answers 503 naming meta.oauth_token_key when member restore is off', async () => {
    const { app, close } = await api({ 'meta.oauth_token_key': undefined });
    closers.push(close);
    for (const [method, url] of [['GET', `/auth/member-restore?guild_id=${GUILD}`], ['GET', '/auth/member-restore/me'], ['DELETE', '/auth/member-restore']] as const) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 503, url);
      assert.deepEqual(res.json(), { error: 'member restore is off on this server: meta.oauth_token_key is not set' });
    }
  });

  it('answers 503 naming Postgres when it cannot be reached', async () => {
    const { app, close } = await api({ 'meta.postgres_url': `postgres://postgres@127.0.0.1:${await freePort()}/nowhere` });
    closers.push(close);
    const res = await app.inject({ method: 'GET', url: `/auth/member-restore?guild_id=${GUILD}` });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { error: 'Postgres is unavailable; try again shortly' });
  });
});
