// The website: a few server-rendered pages (a shell each) and one small script that fills them
// from /api/v1. The script and the styles are strings in the bundle, so the single executable
// serves them with nothing on disk.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SCRIPT } from './script';
import { STYLE } from './style';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const version = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);
const assets = { script: `/site/app.${version(SCRIPT)}.js`, style: `/site/app.${version(STYLE)}.css` };

type Page = 'home' | 'guild' | 'operator';
const TITLES: Record<Page, string> = { home: 'Your servers', guild: 'Server', operator: 'Operator' };

export function page(kind: Page, data: Record<string, string> = {}): string {
  const attrs = Object.entries(data).map(([k, v]) => ` data-${k}="${escape(v)}"`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLES[kind]} · splashtail</title><link rel="stylesheet" href="${assets.style}"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><nav aria-label="Main"><a href="/" class="brand">splashtail</a><span id="nav-extra"></span><span id="who" aria-live="polite"></span></nav></header>
<main id="main" data-page="${kind}"${attrs} tabindex="-1"><p class="muted">Loading…</p></main>
<div id="alert" role="alert" aria-live="assertive"></div>
<script src="${assets.script}" defer></script></body></html>`;
}

const html = (reply: FastifyReply, body: string) =>
  reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'").header('x-content-type-options', 'nosniff').send(body);

export function siteRoutes(app: FastifyInstance): void {
  const immutable = 'public, max-age=31536000, immutable';
  app.get(assets.script, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', immutable).send(SCRIPT));
  app.get(assets.style, async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', immutable).send(STYLE));
  app.get('/', async (_req, reply) => html(reply, page('home')));
  app.get('/operator', async (_req, reply) => html(reply, page('operator')));
  app.get<{ Params: { id: string } }>('/guilds/:id', async (req, reply) => {
    if (!/^\d{17,20}$/.test(req.params.id)) return reply.status(404).send({ error: 'no such server' });
    return html(reply, page('guild', { guild: req.params.id }));
  });
}
