// The jobserver API. Every route but /healthz, /metrics, /docs and the signed download needs
// `Authorization: <client name> <secret>`. Bodies, params and queries are checked by their
// TypeBox schema as written (no type coercion: `"for": ["1"]` is not a string), and answer 400
// naming the field; with Postgres down the routes answer 503.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isDatabaseUnavailable } from '../internal/db/pool';
import { createHttpService } from '../internal/http/service';
import type { Task, TaskRepository } from './repository';
import { unstorableJson } from './storable-json';
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
const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const TaskParams = Type.Object({ id: Type.String({ pattern: UUID, description: 'a task id (UUID)' }) });
const EntityParams = Type.Object({ id: Snowflake });
const ListQuery = Type.Object({ limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'an integer from 1 to 100 (default 25)' })) });
const DownloadQuery = Type.Object({ expires: Type.String({ pattern: '^[0-9]{1,16}$', description: 'unix milliseconds' }), signature: Type.String({ minLength: 1, maxLength: 200 }) });
const BODY_LIMIT = 256 * 1024;

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

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `Authorization: <client> <secret>`, exactly. The secret is compared in constant time (as
 * digests, so its length does not show either); an unknown client costs the same as a wrong secret.
 */
function authorizer(secrets: Record<string, string>): (header: string | undefined) => string | undefined {
  const clients = new Map(Object.entries(secrets).map(([client, secret]) => [client, digest(secret)]));
  const nobody = digest('');
  return (header) => {
    const match = /^(\S+) (\S+)$/.exec(header ?? '');
    const expected = (match && clients.get(match[1]!)) ?? nobody;
    const ok = timingSafeEqual(digest(match?.[2] ?? ''), expected);
    return ok && match && clients.has(match[1]!) ? match[1] : undefined;
  };
}

/** Schema checks as written, with the first problem named: "body/for: Expected string". */
function compileValidator({ schema, httpPart }: { schema: unknown; httpPart?: string }) {
  const check = TypeCompiler.Compile(schema as TSchema);
  return (value: unknown) => {
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First()!;
    const description = (first.schema as { description?: string }).description;
    const error = new Error(`${httpPart ?? 'request'}${first.path}: ${first.message}${description ? ` (${description})` : ''}`);
    return { error };
  };
}

export async function buildJobsApp(o: JobsAppOptions): Promise<FastifyInstance> {
  const base = createHttpService({ logger: o.logger, registry: o.registry, health: o.health, bodyLimit: BODY_LIMIT });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(compileValidator);
  const authorized = authorizer(o.secrets);
  await app.register(swagger, { openapi: { info: { title: 'splashtail jobserver', version: '1' }, components: { securitySchemes: { client: { type: 'apiKey', in: 'header', name: 'Authorization' } } } } });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const open = (req: FastifyRequest) => /^\/(healthz|metrics|docs|download)/.test(req.url);
  app.addHook('onRequest', async (req, reply) => {
    if (open(req)) return;
    const client = authorized(req.headers.authorization);
    if (!client) return reply.status(401).send({ error: 'Authorization must be "<client name> <secret>" of a configured jobserver client' });
  });

  // The task routes in a scope of their own, so their error handler can answer 503 for an
  // unreachable Postgres and leave every other error to the service's handler.
  await app.register(async (scope) => {
    scope.setErrorHandler((err, _req, reply) => {
      if (!isDatabaseUnavailable(err)) throw err;
      return reply.status(503).send({ error: 'the task database (Postgres) is unavailable; try again shortly' });
    });
    tasksRoutes(scope, o);
  });
  return app;
}

function tasksRoutes(app: FastifyInstance, o: JobsAppOptions): void {
  app.post('/tasks', { schema: { body: CreateTask } }, async (req, reply) => {
    const body = req.body as Static<typeof CreateTask>;
    const taskFor = /^[gu]\//.test(body.for) ? body.for : `g/${body.for}`;
    const unstorable = unstorableJson(body.data ?? {}, 'body/data');
    if (unstorable) return reply.status(400).send({ error: unstorable });
    if (body.name === 'guild_restore_backup') {
      const backupId = (body.data as { backup_task_id?: unknown } | undefined)?.backup_task_id;
      const backup = typeof backupId === 'string' && new RegExp(UUID).test(backupId) ? await o.repo.get(backupId) : undefined;
      if (backup?.task_name !== 'guild_create_backup' || backup.state !== 'completed') {
        return reply.status(400).send({ error: 'body/data/backup_task_id must be the id of a completed guild_create_backup task' });
      }
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

  app.get('/entities/:id/tasks', { schema: { params: EntityParams, querystring: ListQuery } }, async (req) => {
    const { id } = req.params as Static<typeof EntityParams>;
    const { limit } = req.query as Static<typeof ListQuery>;
    return { tasks: (await o.repo.listFor(`g/${id}`, Number(limit ?? 25))).map(taskView) };
  });

  app.get('/tasks/:id/download-url', { schema: { params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.get((req.params as Static<typeof TaskParams>).id);
    if (!task?.output) return reply.status(404).send({ error: 'this task has no output' });
    const expires = Date.now() + DOWNLOAD_TTL_MS;
    return { url: `${o.publicUrl}/download/${task.task_id}?expires=${expires}&signature=${sign(o.signingSecret, task.task_id, expires)}`, expires_at: new Date(expires).toISOString() };
  });

  app.get('/download/:id', { schema: { params: TaskParams, querystring: DownloadQuery } }, async (req, reply) => {
    const { id } = req.params as Static<typeof TaskParams>;
    const { expires, signature } = req.query as Static<typeof DownloadQuery>;
    const check = verify(o.signingSecret, id, Number(expires), signature);
    if (check !== 'ok') return reply.status(403).send({ error: `download link ${check}` });
    const task = await o.repo.get(id);
    if (!task?.output) return reply.status(404).send({ error: 'this task has no output' });
    reply.header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="${task.task_id}.json"`);
    return o.storage.get(task.output.filename);
  });
}
