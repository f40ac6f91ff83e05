// The mewld IPC wire format, validated at the edge. Everything that arrives over Redis passes
// through parseIncoming() before any code looks at it; invalid messages are reported, never thrown.
import { z } from 'zod';

/** Actions the clusterer (scope "launcher") understands, as in mewld. */
export const LAUNCHER_ACTIONS = [
  'launch_next',
  'rollingrestart',
  'start',
  'stop',
  'restart',
  'statuses',
  'shutdown',
  'restartproc',
  'diag',
  'action_logs',
  'reshard',
  'num_processes',
] as const;
export type LauncherAction = (typeof LAUNCHER_ACTIONS)[number];

const MAX_TEXT = 200;

/** `{scope, action, args?, command_id?, output?, data?}`: the one envelope of every IPC message. */
export const ipcMessageSchema = z
  .object({
    scope: z.string().min(1).max(MAX_TEXT),
    action: z.string().min(1).max(MAX_TEXT),
    args: z.record(z.string(), z.unknown()).optional(),
    command_id: z.string().min(1).max(MAX_TEXT).optional(),
    output: z.unknown().optional(),
    data: z.unknown().optional(),
  })
  .strict();
export type IpcMessage = z.infer<typeof ipcMessageSchema>;

/** The clusterer's health ping to one cluster, over the process channel: `{"id":N,"nonce":"...","diag":true}`. */
export const diagPingSchema = z
  .object({
    id: z.number().int().min(0),
    nonce: z.string().min(1).max(MAX_TEXT),
    diag: z.literal(true),
  })
  .strict();
export type DiagPing = z.infer<typeof diagPingSchema>;

export const shardDiagSchema = z.object({
  shard_id: z.number().int().min(0),
  up: z.boolean(),
  latency: z.number(),
  guilds: z.number().int().min(0),
  users: z.number().int().min(0),
});
export type ShardDiag = z.infer<typeof shardDiagSchema>;

/** A guild whose events a cluster skips because handling them kept failing. */
export const quarantinedGuildSchema = z.object({
  guild_id: z.string().min(1).max(MAX_TEXT),
  since: z.string().max(MAX_TEXT),
  failures: z.number().int().min(0),
  skipped: z.number().int().min(0),
  event: z.string().max(MAX_TEXT),
  error: z.string().max(1_000),
});
export type QuarantinedGuild = z.infer<typeof quarantinedGuildSchema>;

/** The output of a cluster's diag answer (mewld sends it as an object or a JSON string). */
export const diagReplySchema = z.object({
  nonce: z.string().min(1).max(MAX_TEXT),
  id: z.number().int().min(0).optional(),
  data: z.array(shardDiagSchema).max(100_000),
  quarantined: z.array(quarantinedGuildSchema).max(10_000).optional(),
});
export type DiagReply = z.infer<typeof diagReplySchema>;

/** Arguments of the launcher actions that take a cluster id. */
export const clusterIdArgsSchema = z.object({ id: z.number().int().min(0) });

export type Incoming =
  | { kind: 'message'; message: IpcMessage }
  /** `command_id` and `scope` are kept when readable, so a bad request still gets its error reply (and a bad reply none). */
  | { kind: 'invalid'; error: string; command_id?: string; scope?: string; action?: string };

/** The largest IPC message sent or accepted (Redis itself drops subscribers at 32 MB by default). */
export const MAX_MESSAGE_BYTES = 1_000_000;

/** The command_id of a message too large to parse, so it can still get its one (error) reply. */
const COMMAND_ID_IN_TEXT = /"command_id"\s*:\s*"([^"\\]{1,200})"/;

/** Parses one raw pub/sub payload. Never throws. */
export function parseIncoming(raw: string): Incoming {
  if (raw.length > MAX_MESSAGE_BYTES) {
    // Not parsed; its command_id (and whether it is a reply) is looked up in the text.
    const commandId = COMMAND_ID_IN_TEXT.exec(raw)?.[1];
    return {
      kind: 'invalid',
      error: `message too large (${raw.length} bytes; limit ${MAX_MESSAGE_BYTES})`,
      ...(commandId ? { command_id: commandId } : {}),
      ...(/"scope"\s*:\s*"bot"/.test(raw) ? { scope: 'bot' } : {}),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { kind: 'invalid', error: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', error: 'not a JSON object' };
  }
  const message = ipcMessageSchema.safeParse(value);
  if (message.success) return { kind: 'message', message: message.data };
  const { command_id: commandId, scope, action } = value as { command_id?: unknown; scope?: unknown; action?: unknown };
  const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT;
  return {
    kind: 'invalid',
    error: describe(message.error),
    ...(text(commandId) ? { command_id: commandId } : {}),
    ...(text(scope) ? { scope } : {}),
    ...(text(action) ? { action } : {}),
  };
}

/** Parses a diag answer's output, accepting mewld's JSON-string form too. */
export function parseDiagReply(output: unknown): DiagReply | { error: string } {
  let value = output;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { error: 'output: not JSON' };
    }
  }
  const parsed = diagReplySchema.safeParse(value);
  return parsed.success ? parsed.data : { error: describe(parsed.error, 'output') };
}

/** One line naming each wrong field: `action: expected string, received number`. */
export function describe(error: z.ZodError, prefix?: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(message)'}: ${issue.message}`;
    })
    .join('; ');
}
