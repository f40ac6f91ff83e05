// The jobserver API. Every route but /healthz, /metrics, /docs and the signed download needs
// `Authorization: <client name> <secret>`. Bodies, params and queries are checked by their
// TypeBox schema as written (no type coercion: `"for": ["1"]` is not a string), a task's `data`
// by its kind's schema (task-schemas.ts), and answer 400 naming the field; with Postgres down the
// routes answer 503. A task's password is never answered back.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isDatabaseUnavailable } from '../internal/db/unavailable';
import { createHttpService } from '../internal/http/service';
import type { Task, TaskRepository } from './repository';
import { restoreRefusal } from './restore-owner';
import { unstorableJson } from './storable-json';
import { DOWNLOAD_TTL_MS, type ObjectStorage, sign, verify } from './storage';
import { CreateTask, type CreateTaskBody, Snowflake, UUID, variantFor } from './task-schemas';

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
  /** The owner of a guild as Discord says now; undefined when the bot cannot see the guild. */
  guildOwner: (guildId: string) => Promise<string | undefined>;
  health: () => Promise<Record<string, unknown>>;
}

/** A task as clients see it: without its checkpoint, its lease holder or its password. */
function taskView(task: Task) {
  const { checkpoint: _c, locked_by: _l, data, ...rest } = task;
  const { password: _p, ...shown } = data;
  return { ...rest, data: shown };
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

/**
 * Schema checks as written, with the first problem named: "body/for: Expected string". A union
 * discriminated by a property is checked against the variant the value names, so the problem is
 * named within it ("body/data/messages_per_channel: Expected integer").
 */
function compileValidator({ schema, httpPart }: { schema: unknown; httpPart?: string }) {
  const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
  const compiled = (s: TSchema) => checks.get(s) ?? checks.set(s, TypeCompiler.Compile(s)).get(s)!;
  return (value: unknown) => {
    const { variant, property, names } = variantFor(schema as TSchema, value);
    if (!variant) return { error: new Error(`${httpPart ?? 'request'}/${property}: must be one of ${names!.join(', ')}`) };
    const check = compiled(variant);
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
  const summary = (text: string, description?: string) => ({ summary: text, ...(description ? { description } : {}), tags: ['tasks'] });

  app.post('/tasks', {
    schema: { ...summary('Create a task', 'One body schema per task kind (see `name`); 400 names the first bad field. A restore of another guild\'s backup needs `data.requested_by`, the owner of both guilds.'), body: CreateTask },
  }, async (req, reply) => {
    const body = req.body as CreateTaskBody;
    const taskFor = /^[gu]\//.test(body.for) ? body.for : `g/${body.for}`;
    const unstorable = unstorableJson(body.data ?? {}, 'body/data');
    if (unstorable) return reply.status(400).send({ error: unstorable });
    // A restore (of the guild, or of its members) reads a backup: a completed one, of a guild the asker may restore from.
    const restoring = body.name === 'guild_restore_backup' || body.name === 'guild_member_restore' ? body.data : undefined;
    if (restoring?.backup_task_id !== undefined) {
      const backup = await o.repo.get(restoring.backup_task_id);
      if (backup?.task_name !== 'guild_create_backup' || backup.state !== 'completed') {
        return reply.status(400).send({ error: 'body/data/backup_task_id must be the id of a completed guild_create_backup task' });
      }
      const refusal = await restoreRefusal(backup, taskFor, restoring.requested_by, o.guildOwner);
      if (refusal) return reply.status(403).send({ error: refusal });
    }
    const task = await o.repo.create({ id: randomUUID(), name: body.name, for: taskFor, data: body.data ?? {}, execute: body.execute ?? true, expiry: body.expiry_seconds ? new Date(Date.now() + body.expiry_seconds * 1000) : null });
    o.onCreated();
    return reply.status(201).send({ task_id: task.task_id, task_info: taskView(task) });
  });

  app.post('/tasks/:id/execute', { schema: { ...summary('Run a task created with execute: false'), params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.markExecutable((req.params as Static<typeof TaskParams>).id);
    if (!task) return reply.status(409).send({ error: 'no pending task with this id' });
    o.onCreated();
    return taskView(task);
  });

  app.get('/tasks/:id', { schema: { ...summary('A task: its state, statuses and output (never its password)'), params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.get((req.params as Static<typeof TaskParams>).id);
    return task ? taskView(task) : reply.status(404).send({ error: 'no such task' });
  });

  app.post('/tasks/:id/cancel', { schema: { ...summary('Cancel a pending or running task'), params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.cancel((req.params as Static<typeof TaskParams>).id);
    return task ? taskView(task) : reply.status(409).send({ error: 'no pending or running task with this id' });
  });

  app.get('/entities/:id/tasks', { schema: { ...summary("A guild's tasks, newest first"), params: EntityParams, querystring: ListQuery } }, async (req) => {
    const { id } = req.params as Static<typeof EntityParams>;
    const { limit } = req.query as Static<typeof ListQuery>;
    return { tasks: (await o.repo.listFor(`g/${id}`, Number(limit ?? 25))).map(taskView) };
  });

  app.get('/tasks/:id/download-url', { schema: { ...summary("A signed link to the task's output, valid 10 minutes"), params: TaskParams } }, async (req, reply) => {
    const task = await o.repo.get((req.params as Static<typeof TaskParams>).id);
    if (!task?.output) return reply.status(404).send({ error: 'this task has no output' });
    const expires = Date.now() + DOWNLOAD_TTL_MS;
    return { url: `${o.publicUrl}/download/${task.task_id}?expires=${expires}&signature=${sign(o.signingSecret, task.task_id, expires)}`, expires_at: new Date(expires).toISOString() };
  });

  app.get('/download/:id', { schema: { ...summary('Download an output by its signed link (no Authorization)'), params: TaskParams, querystring: DownloadQuery } }, async (req, reply) => {
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
