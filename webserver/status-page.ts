// GET /status: a plain HTML page of the clusters, for people (the JSON is at /clusters).
import type { FastifyInstance } from 'fastify';
import type { ClusterStatus } from '../internal/ipc/clusterer';

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function statusPage(app: FastifyInstance, statuses: () => ClusterStatus[]): void {
  app.get('/status', async (_req, reply) => {
    const rows = statuses()
      .map((c) => `<tr><td>${c.id}</td><td>${escape(c.name)}</td><td class="${c.state}">${c.state}</td><td>${c.shards.join(', ')}</td><td>${c.shards_up}/${c.shards.length}</td><td>${c.guilds}</td><td>${c.restarts}</td></tr>`)
      .join('');
    const up = statuses().filter((c) => c.state === 'up').length;
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>splashtail status</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}.up{color:green}.starting,.stopping{color:orange}.stopped{color:red}</style>
<h1>splashtail status</h1><p>${up} of ${statuses().length} clusters up</p>
<table><tr><th>cluster</th><th>name</th><th>state</th><th>shards</th><th>shards up</th><th>guilds</th><th>restarts</th></tr>${rows}</table>`);
  });
}
