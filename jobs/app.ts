// The jobserver API. Every route but /healthz, /metrics, /docs and the signed download needs
// `Authorization: <client name> <secret>`; bodies are validated by their JSON schema.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type Static, Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createHttpService } from '../internal/http/service';
import type { Task, TaskRepository } from './repository';
import { DOWNLOAD_TTL_MS, type ObjectStorage, sign, verify } from './storage';

export const TASK_NAMES = ['guild_create_backup', 'guild_restore_backup'] as const;

const Snowflake = Type.String({ pattern: '^\\d{1,20}$', description: 'a Discord id' });
const CreateTask = Type.Object(
  {
    name: Type.Union(TASK_NAMES.map((n) => Type.Literal(n)), { description: 'task kind' }),
    for: Type.String({ pattern: '^(g/|u/)?\\d{1,20}$', description: 'guild id (or g/<id>, u/<id>)' }),
    data: Type.Optional(Type.Object({}, { additionalProperties: true })),
    execute: Type.Optional(Type.Boolean({ default: true })),
    expiry_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000 })),
  },
  { additionalProperties: false },
);
const TaskParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const EntityParams = Type.Object({ id: Snowflake });

export interface JobsAppOptions {
  logger: Logger;
  registry: Registry;
  repo: TaskRepository;
  storage: ObjectStorage;
  secrets: Record<string, string>;
  signingSecret: string;
  publicUrl: string;
  onCreated: () => void;
  health: () => Promise<Record<string, unknown>>;
}

function taskView(task: Task) {
  const { checkpoint: _c, locked_by: _l, ...rest } = task;
  return rest;
}

/** Constant time; an unknown client costs the same as a wrong secret. */
function authorized(header: string | undefined, secrets: Record<string, string>): string | undefined {
  const [client = '', secret = ''] = (header ?? '').split(' ', 2);
  // Own properties only: `constructor` or `__proto__` must not reach Object.prototype.
  const known = Object.hasOwn(secrets, client) && typeof secrets[client] === 'string';
  const expected = known ? secrets[client]! : '\0'.repeat(Math.max(32, secret.length));
  const a = Buffer.from(secret);
  const b = Buffer.from(expected);
  const ok = a.length === b.length && timingSafeEqual(a, b);
  return ok && known ? client : undefined;
}

export async function buildJobsApp(o: JobsAppOptions): Promise<FastifyInstance> {
  const base = createHttpService({ logger: o.logger, registry: o.registry, health: o.health });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(swagger, { openapi: { info: { title: 'splashtail jobserver', version: '1' }, components: { securitySchemes: { client: { type: 'apiKey', in: 'header', name: 'Authorization' } } } } });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const open = (req: FastifyRequest) => /^\/(healthz|metrics|docs|download)/.test(req.url);
  app.addHook('onRequest', async (req, reply) => {
    if (open(req)) return;
    const client = authorized(req.headers.authorization, o.secrets);
    if (!client) return reply.status(401).send({ error: 'Authorization must be "<client name> <secret>" of a configured jobserver client' });
  });

  app.post('/tasks', { schema: { body: CreateTask } }, async (req, reply) => {
    const body = req.body as Static<typeof CreateTask>;
    const taskFor = /^[gu]\//.test(body.for) ? body.for : `g/${body.for}`;
    if (body.name === 'guild_restore_backup' && typeof (body.data as { backup_task_id?: unknown } | undefined)?.backup_task_id !== 'string') {
      return reply.status(400).send({ error: 'body/data/backup_task_id must be the id of a completed guild_create_backup task' });
    }
    const task = await o.repo.create({ id: randomUUID(), name: body.name, for: taskFor, data: body.data ?? {}, execute: body.execute ?? true, expiry: body.expiry_seconds ? new Date(Date.now() + body.expiry_seconds * 1000) : null });
    o.onCreated();
    return reply.status(201).send({ task_id: task.task_id, task_info: taskView(task) });
  });

  app.post('/tasks/:id/execute', { schema: { params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.markExecutable((req.params as Static<typeof TaskParams>).id);
    if (!task) return reply.status(409).send({ error: 'no pending task with this id' });
    o.onCreated();
    return taskView(task);
  });

  app.get('/tasks/:id', { schema: { params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.get((req.params as Static<typeof TaskParams>).id);
    return task ? taskView(task) : reply.status(404).send({ error: 'no such task' });
  });

  app.post('/tasks/:id/cancel', { schema: { params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.cancel((req.params as Static<typeof TaskParams>).id);
    return task ? taskView(task) : reply.status(409).send({ error: 'no pending or running task with this id' });
  });

  app.get('/entities/:id/tasks', { schema: { params: EntityParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }) }) } }, async (req) => {
    const { id } = req.params as Static<typeof EntityParams>;
    const { limit } = req.query as { limit: number };
    return { tasks: (await o.repo.listFor(`g/${id}`, limit)).map(taskView) };
  });

  app.get('/tasks/:id/download-url', { schema: { params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.get((req.params as Static<typeof TaskParams>).id);
    if (!task?.output) return reply.status(404).send({ error: 'this task has no output' });
    const expires = Date.now() + DOWNLOAD_TTL_MS;
    return { url: `${o.publicUrl}/download/${task.task_id}?expires=${expires}&signature=${sign(o.signingSecret, task.task_id, expires)}`, expires_at: new Date(expires).toISOString() };
  });

  app.get('/download/:id', { schema: { params: TaskParams, querystring: Type.Object({ expires: Type.Integer(), signature: Type.String({ minLength: 1, maxLength: 200 }) }) } }, async (req, reply) => {
    const { id } = req.params as Static<typeof TaskParams>;
    const { expires, signature } = req.query as { expires: number; signature: string };
    const check = verify(o.signingSecret, id, expires, signature);
    if (check !== 'ok') return reply.status(403).send({ error: `download link ${check}` });
    const task = await o.repo.get(id);
    if (!task?.output) return reply.status(404).send({ error: 'this task has no output' });
    reply.header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="${task.task_id}.json"`);
    return o.storage.get(task.output.filename);
  });

  return app;
}
