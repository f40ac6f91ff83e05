// Hostile requests to a real `./splashtail jobs` (issue #19): each gets a 4xx naming the problem,
// never a 500, and nothing reaches Postgres that it cannot store.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeTestConfig } from '../helpers/config';
import { deeplyNested } from '../helpers/fuzz';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase } from '../helpers/services';

const SECRET = 'dev-jobserver-bot-secret-0123456789abcdef';
const GUILD = '123456789012345678';

describe('jobserver bad input', () => {
  let jobs: Running;
  let api: string;
  let port: number;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const auth = { authorization: `bot ${SECRET}`, 'content-type': 'application/json' };
  const send = async (method: string, path: string, body?: string, headers: Record<string, string> = auth) => {
    const res = await fetch(`${api}${path}`, { method, headers, body });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };

  before(async () => {
    db = await createTestDatabase();
    port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      'discord_auth.api_url': `http://127.0.0.1:${await freePort()}/api`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')),
    });
    jobs = start(['jobs', '--config', path]);
    await jobs.waitFor(/jobserver listening/);
  });
  after(async () => {
    await jobs?.stop();
    await db?.drop();
  });

  it('refuses Authorization headers naming prototype keys, or with anything after the secret, with 401', async () => {
    for (const client of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype']) {
      const res = await send('GET', `/entities/${GUILD}/tasks`, undefined, { authorization: `${client} x` });
      assert.equal(res.status, 401, `${client}: ${JSON.stringify(res.body)}`);
    }
    // (Leading and trailing blanks are not the client's: HTTP strips them from header values.)
    for (const header of [`bot ${SECRET} trailing-junk`, `bot  ${SECRET}`, `bot\t${SECRET}`, `bot ${SECRET}\tjunk`, 'bot', `${SECRET}`, `bot ${SECRET.slice(0, -1)}`]) {
      const res = await send('GET', `/entities/${GUILD}/tasks`, undefined, { authorization: header });
      assert.equal(res.status, 401, `${JSON.stringify(header)}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await send('GET', `/entities/${GUILD}/tasks`)).status, 200);
  });

  it('answers 400 naming the problem for task data Postgres cannot store, too deep, or of the wrong type', async () => {
    const create = (data: string, extra = '') => send('POST', '/tasks', `{"name":"guild_create_backup","for":"${GUILD}","execute":false${extra},"data":${data}}`);
    // The data schema leaves free text only in `password`: the one place such strings reach the insert.
    const cases: [string, string, RegExp][] = [
      ['NUL in a string', '{"password":"a\\u0000b"}', /body\/data\/password must not contain \\u0000/],
      ['NUL in a key', '{"special_allocations":{"a\\u0000":1}}', /body\/data\/special_allocations/],
      ['lone high surrogate', '{"password":"\\ud800"}', /body\/data\/password must not contain a lone UTF-16 surrogate/],
      ['lone low surrogate', '{"password":"x\\udc00"}', /body\/data\/password must not contain a lone UTF-16 surrogate/],
      ['an unknown field', '{"note":"x"}', /body\/data\/note/],
      ['10,000 levels', `{"deep":${deeplyNested(10_000)}}`, /body\/data/],
      ['an array', '[]', /body\/data/],
    ];
    for (const [what, data, pattern] of cases) {
      const res = await create(data);
      assert.equal(res.status, 400, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!, pattern, what);
    }
    // A well-formed surrogate pair (an emoji) is fine.
    assert.equal((await create('{"password":"\\ud83d\\ude00"}')).status, 201);
    const typed: [string, RegExp][] = [
      [`{"name":"guild_create_backup","for":["${GUILD}"]}`, /body\/for/],
      [`{"name":["guild_create_backup"],"for":"${GUILD}"}`, /body\/name/],
      [`{"name":"guild_create_backup","for":"${GUILD}","execute":"false"}`, /body\/execute/],
      [`{"name":"guild_create_backup","for":"${GUILD}","expiry_seconds":"600"}`, /body\/expiry_seconds/],
      [`{"name":"guild_create_backup","for":"${GUILD}","expiry_seconds":1e400}`, /body\/expiry_seconds/],
      [`{"name":"guild_create_backup","for":"${GUILD}","data":{"x":"${'a'.repeat(300 * 1024)}"}}`, /body/i],
    ];
    for (const [body, pattern] of typed) {
      const res = await send('POST', '/tasks', body);
      assert.ok([400, 413].includes(res.status), `${body.slice(0, 100)}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!, pattern, body.slice(0, 100));
    }
  });

  it('accepts only the id of a completed backup as backup_task_id', async () => {
    for (const id of ['../../etc/passwd', randomUUID(), 5, '', `${randomUUID()}/../x`]) {
      const res = await send('POST', '/tasks', JSON.stringify({ name: 'guild_restore_backup', for: GUILD, data: { backup_task_id: id } }));
      assert.equal(res.status, 400, `${JSON.stringify(id)}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!, /body\/data\/backup_task_id.*completed guild_create_backup task/);
    }
  });

  it('answers 400 for a limit that is not an integer from 1 to 100, in any spelling', async () => {
    for (const limit of ['Infinity', '-Infinity', '1e400', '1e2', '0x10', '0', '101', '-1', '1.5', '', ' 5', 'NaN', '5&limit=6']) {
      const res = await send('GET', `/entities/${GUILD}/tasks?limit=${limit}`);
      assert.equal(res.status, 400, `limit=${limit}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!, /querystring\/limit/, limit);
    }
    for (const limit of ['1', '25', '100']) assert.equal((await send('GET', `/entities/${GUILD}/tasks?limit=${limit}`)).status, 200);
    for (const expires of ['1e400', 'Infinity', '0x10', '-1']) {
      const res = await send('GET', `/download/${randomUUID()}?expires=${expires}&signature=x`, undefined, {});
      assert.equal(res.status, 400, `expires=${expires}: ${JSON.stringify(res.body)}`);
    }
  });

  it('ends a request whose body never finishes', async () => {
    const closed = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: bot ${SECRET}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`);
      });
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('close', () => resolve(answer));
      socket.setTimeout(60_000, () => (socket.destroy(), resolve('still open after 60 s')));
    });
    assert.ok(!closed.startsWith('still open'), 'the jobserver gave up on the unfinished body');
    assert.ok(closed === '' || /^HTTP\/1\.1 4\d\d/.test(closed), closed.slice(0, 200));
  });
});
