// /api/v1/guilds/{id}/...: a server's backups and restores (through the jobserver) and the bot
// modules' settings. Every route needs Manage Server in that server, asked of Discord (discord.ts).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { limitsSettings } from '../../bot/modules/limits/settings';
import { moderationSettings } from '../../bot/modules/moderation/settings';
import { permissionsSettings } from '../../bot/modules/permissions/settings';
import type { SettingsModule } from '../../bot/modules/settings-store';
import type { ApiDeps } from './deps';
import { ApiError, errorResponses } from './errors';

export const Snowflake = Type.String({ pattern: '^\\d{17,20}$', description: 'a Discord id' });
const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const GuildParams = Type.Object({ id: Snowflake });
const TaskParams = Type.Object({ id: Snowflake, task_id: Type.String({ pattern: UUID, description: 'a task id' }) });
/** The jobserver's task, as it shows it (state, statuses, output; never a password). */
const Task = Type.Object({ task_id: Type.String(), task_name: Type.String(), task_for: Type.String(), state: Type.String(), statuses: Type.Array(Type.Unknown()), output: Type.Unknown(), data: Type.Unknown(), created_at: Type.Optional(Type.String()) }, { additionalProperties: true });
/** Restores name who asks, so the jobserver can apply the cross-server rule (owner of both). */
const RESTORES = new Set(['guild_restore_backup', 'guild_member_restore']);

interface JobTask { task_id: string; task_for: string }

export const SETTINGS: Record<SettingsModule, z.ZodObject> = { limits: limitsSettings, moderation: moderationSettings, permissions: permissionsSettings };

/** A zod check as a fastify validator, naming the first bad field: `body.rules.0.count: Too big...`. */
function zodValidator(schema: z.ZodType) {
  return () => (value: unknown) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return { value: parsed.data };
    const issue = parsed.error.issues[0]!;
    return { error: new Error(`${['body', ...issue.path.map(String)].join('.')}: ${issue.message}`) };
  };
}

/** A settings document as its clients may write it: `next_rule_id` is the server's to keep. */
const writable = (module: SettingsModule) => (module === 'limits' ? limitsSettings.omit({ next_rule_id: true }).strict() : SETTINGS[module].strict());

/** The hook of every /guilds/{id} route group: Manage Server in that server, asked of Discord. */
export function requireManageServer(app: FastifyInstance, d: ApiDeps): void {
  app.addHook('preHandler', async (req: FastifyRequest) => {
    const { id } = req.params as { id?: string };
    if (id) await d.discord.requireManage(id, req.caller!.user.id);
  });
}

export function guildRoutes(app: FastifyInstance, d: ApiDeps): void {
  requireManageServer(app, d);
  const ownTask = async (guildId: string, taskId: string): Promise<JobTask> => {
    const task = await d.jobs<JobTask>('GET', `/tasks/${taskId}`).catch((err: unknown) => {
      throw err instanceof ApiError && err.statusCode === 404 ? new ApiError(404, 'unknown_task', 'no such task in this server') : err;
    });
    if (task.task_for !== `g/${guildId}`) throw new ApiError(404, 'unknown_task', 'no such task in this server');
    return task;
  };
  const tags = ['tasks'];
  const Named = Type.Array(Type.Object({ id: Type.String(), name: Type.String() }));

  app.get('/guilds/:id', {
    schema: { summary: 'The server: name, text channels and roles (what the settings refer to)', tags: ['guilds'], params: GuildParams, response: { 200: Type.Object({ id: Type.String(), name: Type.String(), icon: Type.Union([Type.String(), Type.Null()]), channels: Named, roles: Named }), ...errorResponses } },
  }, async (req) => d.discord.guildSummary((req.params as { id: string }).id));

  app.post('/guilds/:id/tasks', {
    schema: {
      summary: 'Start a task for the server: guild_create_backup, guild_restore_backup (data.backup_task_id), or another kind the jobserver knows; `data` is checked by the jobserver\'s schema of that kind', tags, params: GuildParams,
      body: Type.Object({ name: Type.String({ pattern: '^[a-z_]{1,64}$', description: 'task kind' }), data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the kind\'s options (see the jobserver\'s /docs)' })) }, { additionalProperties: false }),
      response: { 201: Type.Object({ task_id: Type.String(), task: Task }), ...errorResponses },
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const { name, data = {} } = req.body as { name: string; data?: Record<string, unknown> };
    const body = { name, for: id, data: RESTORES.has(name) ? { ...data, requested_by: req.caller!.user.id } : data };
    const created = await d.jobs<{ task_id: string; task_info: unknown }>('POST', '/tasks', body);
    return reply.status(201).send({ task_id: created.task_id, task: created.task_info });
  });

  app.get('/guilds/:id/tasks', {
    schema: { summary: "The server's tasks, newest first", tags, params: GuildParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }) }), response: { 200: Type.Object({ tasks: Type.Array(Task) }), ...errorResponses } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    return d.jobs<{ tasks: unknown[] }>('GET', `/entities/${id}/tasks?limit=${(req.query as { limit: number }).limit}`);
  });

  app.get('/guilds/:id/tasks/:task_id', { schema: { summary: 'One task: state, statuses (progress), output', tags, params: TaskParams, response: { 200: Task, ...errorResponses } } }, async (req) => {
    const { id, task_id } = req.params as { id: string; task_id: string };
    return ownTask(id, task_id);
  });

  app.get('/guilds/:id/tasks/:task_id/download', {
    schema: { summary: "A signed link to the task's output (a backup file), valid 10 minutes", tags, params: TaskParams, response: { 200: Type.Object({ url: Type.String(), expires_at: Type.String() }), ...errorResponses } },
  }, async (req) => {
    const { id, task_id } = req.params as { id: string; task_id: string };
    await ownTask(id, task_id);
    return d.jobs<{ url: string; expires_at: string }>('GET', `/tasks/${task_id}/download-url`);
  });

  for (const module of Object.keys(SETTINGS) as SettingsModule[]) {
    const schema = SETTINGS[module];
    const doc = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
    const { $schema: _s, ...response } = doc;
    const { $schema: _b, ...body } = z.toJSONSchema(writable(module), { io: 'input', unrepresentable: 'any' });
    const stags = ['settings'];
    app.get(`/guilds/:id/settings/${module}`, { schema: { summary: `The ${module} module's settings`, tags: stags, params: GuildParams, response: { 200: response, ...errorResponses } } }, async (req) => {
      return d.settings.get((req.params as { id: string }).id, module, schema);
    });
    app.put(`/guilds/:id/settings/${module}`, {
      schema: { summary: `Replace the ${module} module's settings (checked by the bot module's own schema; 400 names the field)`, tags: stags, params: GuildParams, body, response: { 200: response, ...errorResponses } },
      validatorCompiler: (route) => (route.httpPart === 'body' ? zodValidator(writable(module))() : app.validatorCompiler!(route)),
    }, async (req) => {
      const { id } = req.params as { id: string };
      const next = req.body as Record<string, unknown>;
      return d.settings.update(id, module, schema, (current) => {
        if (module !== 'limits') return next;
        // Rule ids are never reused (the bot's `/limits remove id` relies on it).
        const rules = (next.rules ?? []) as { id: number }[];
        const nextId = Math.max((current as { next_rule_id: number }).next_rule_id, ...rules.map((r) => r.id + 1));
        return { ...next, next_rule_id: nextId };
      });
    });
  }
}
