// Request schemas of every service (internal/http/service.ts) are compiled on a route's first
// request: they must validate as when compiled at start, and name the bad field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createHttpService } from '../../internal/http/service';

describe('request validation compiled on first use', () => {
  it('refuses what the schema refuses, naming the field, from the first request on', async () => {
    const app = createHttpService({ logger: pino({ level: 'silent' }), registry: new Registry() });
    const body = { type: 'object', required: ['a'], properties: { a: { type: 'integer' } }, additionalProperties: false };
    const querystring = { type: 'object', properties: { n: { type: 'number', maximum: 10 } } };
    app.post('/x', { schema: { body, querystring } }, async () => ({ ok: true }));
    const post = async (payload: unknown, url = '/x') => {
      const r = await app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
      return [r.statusCode, r.json()];
    };
    assert.deepEqual(await post({ a: 'z' }), [400, { error: 'body.a must be integer' }]);
    assert.deepEqual(await post({}), [400, { error: 'body.a is required' }]);
    assert.deepEqual(await post({ a: 1, b: 2 }), [400, { error: 'body.b is not a known property' }]);
    assert.deepEqual(await post({ a: 1 }), [200, { ok: true }]);
    assert.deepEqual(await post({ a: 1 }, '/x?n=-Infinity'), [400, { error: 'querystring.n must be a finite number' }]);
    assert.deepEqual(await post({ a: 1 }, '/x?n=11'), [400, { error: 'querystring.n must be <= 10' }]);
    assert.deepEqual(await post({ a: 1 }, '/x?n=3'), [200, { ok: true }]);
    await app.close();
  });
});
