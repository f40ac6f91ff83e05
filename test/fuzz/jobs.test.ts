// Fuzz of a real `./splashtail jobs`: generated Authorization headers, paths, queries and bodies
// (hostile strings and JSON). Every answer is below 500 and leaks no secret or stack, the process
// stays the same, memory stays put, and a well-formed request still works afterwards.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { writeTestConfig } from '../helpers/config';
import { assertNoLeak, deeplyNested, FUZZ_RUNS, fuzzParams, hostileJson, hostileString, rssOf } from '../helpers/fuzz';
import { freePort } from '../helpers/ports';
import { type Running, start } from '../helpers/process';
import { createTestDatabase } from '../helpers/services';

const SECRETS = ['dev-jobserver-bot-secret-0123456789abcdef', 'dev-jobserver-api-secret-0123456789abcdef'];
const SIGNING = 'fuzz-signing-secret-0123456789abcdef0123';
const GUILD = '123456789012345678';
const AUTH = `bot ${SECRETS[0]}`;

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Header values as a client can send them: control and non-Latin-1 characters spelled out. */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const json = { 'content-type': 'application/json' };
/** A URL part: kept raw when it is URL-safe (so malformed escapes like %E0%A4%A reach the server), else encoded. */
const inUrl = (s: string) => (/^[\w%.~-]*$/.test(s) ? s : encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd')));

const authorization = fc.oneof(
  fc.tuple(hostileString, hostileString).map(([client, secret]) => `${client} ${secret}`),
  fc.constantFrom('constructor x', '__proto__ x', 'toString x', 'hasOwnProperty x', 'valueOf x', 'bot', `${AUTH} junk`, `${AUTH}\t`, `Bot ${SECRETS[0]}`, `api ${SECRETS[0]}`),
  hostileString.map((junk) => `${AUTH} ${junk}`),
).map(headerSafe);

const requests: fc.Arbitrary<Request> = fc.oneof(
  authorization.map((a) => ({ method: 'GET', path: `/entities/${GUILD}/tasks`, headers: { authorization: a } })),
  fc.tuple(hostileString, hostileString).map(([id, limit]) => ({ method: 'GET', path: `/entities/${inUrl(id)}/tasks?limit=${inUrl(limit)}`, headers: { authorization: AUTH } })),
  fc.tuple(fc.constantFrom('GET /tasks/', 'POST /tasks/', 'GET /download/'), hostileString, fc.constantFrom('', '/cancel', '/execute', '/download-url'), hostileString).map(([route, id, tail, q]) => {
    const [method, prefix] = route.split(' ') as [string, string];
    return { method, path: `${prefix}${inUrl(id)}${method === 'POST' ? tail.replace('/download-url', '/cancel') : tail === '/download-url' ? tail : ''}?expires=${inUrl(q)}&signature=${inUrl(q)}`, headers: { authorization: AUTH } };
  }),
  fc.record({
    name: fc.oneof(fc.constantFrom('guild_create_backup', 'guild_restore_backup'), hostileJson),
    for: fc.oneof(fc.constant(GUILD), fc.constant([GUILD]), hostileJson),
    data: fc.oneof(hostileJson, fc.dictionary(hostileString, hostileJson, { maxKeys: 5 }), fc.record({ backup_task_id: hostileJson })),
    execute: fc.oneof(fc.constant(false), hostileJson),
    expiry_seconds: fc.oneof(fc.constant(undefined), hostileJson),
  }, { requiredKeys: ['name', 'for'] }).map((body) => ({ method: 'POST', path: '/tasks', headers: { authorization: AUTH, ...json }, body: JSON.stringify(body) })),
  // A valid envelope, so the hostile data reaches the schema, and through `password` (its one free
  // text) the insert: NUL, lone surrogates, prototype keys, deep nesting.
  fc.oneof(
    fc.dictionary(hostileString, hostileJson, { minKeys: 1, maxKeys: 5 }).map((data) => JSON.stringify(data)),
    hostileString.map((password) => JSON.stringify({ password })),
    fc.integer({ min: 1, max: 20_000 }).map((depth) => `{"deep":${deeplyNested(depth)}}`),
  ).map((data) => ({ method: 'POST', path: '/tasks', headers: { authorization: AUTH, ...json }, body: `{"name":"guild_create_backup","for":"${GUILD}","execute":false,"data":${data}}` })),
  hostileJson.map((body) => ({ method: 'POST', path: '/tasks', headers: { authorization: AUTH, ...json }, body: JSON.stringify(body) ?? 'undefined' })),
  hostileString.map((raw) => ({ method: 'POST', path: '/tasks', headers: { authorization: AUTH, ...json }, body: raw })),
);

describe('jobserver fuzz', () => {
  let jobs: Running;
  let api: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  const send = async (r: Request) => {
    const res = await fetch(`${api}${r.path}`, { method: r.method, headers: r.headers, body: r.body, signal: AbortSignal.timeout(20_000) });
    return { status: res.status, text: await res.text() };
  };
  const check = async (r: Request) => {
    const { status, text } = await send(r);
    assert.ok(status < 500, `${r.method} ${r.path} ${r.body?.slice(0, 200) ?? ''} -> ${status} ${text.slice(0, 300)}`);
    assertNoLeak(text, [...SECRETS, SIGNING]);
  };

  before(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const { path } = writeTestConfig({
      // No Discord: tasks that get created fail fast, which is fine here.
      'discord_auth.api_url': `http://127.0.0.1:${await freePort()}/api`, 'meta.postgres_url': db.url, 'meta.jobserver_port': port, 'meta.jobserver_url': api,
      'object_storage.path': mkdtempSync(join(tmpdir(), 'st-objects-')), 'object_storage.signing_secret': SIGNING,
    });
    jobs = start(['jobs', '--config', path]);
    await jobs.waitFor(/jobserver listening/);
  });
  after(async () => {
    await jobs?.stop();
    await db?.drop();
  });

  it(`${FUZZ_RUNS} generated requests: no 5xx, no leak, same process, steady memory, still answering`, async () => {
    const pid = jobs.child.pid!;
    // Warm-up, so "before" is measured with the code paths loaded.
    for (const r of fc.sample(requests, { numRuns: 50, seed: 1 })) await check(r);
    const rssBefore = rssOf(pid);
    await fc.assert(fc.asyncProperty(requests, check), fuzzParams());
    assert.equal(jobs.child.exitCode, null, 'the jobserver is still running');
    assert.equal(jobs.child.pid, pid);
    const rssAfter = rssOf(pid);
    assert.ok(rssAfter < rssBefore * 1.2, `RSS grew from ${rssBefore} to ${rssAfter}`);

    const created = await send({ method: 'POST', path: '/tasks', headers: { authorization: AUTH, ...json }, body: JSON.stringify({ name: 'guild_create_backup', for: GUILD, execute: false }) });
    assert.equal(created.status, 201, created.text);
    const { task_id } = JSON.parse(created.text) as { task_id: string };
    assert.equal((await send({ method: 'GET', path: `/tasks/${task_id}`, headers: { authorization: AUTH } })).status, 200);
  });
});
