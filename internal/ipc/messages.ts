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

/** The clusterer's health ping to one cluster: `{"id":N,"nonce":"...","diag":true}`. */
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

/** The output of a cluster's diag answer (mewld sends it as an object or a JSON string). */
export const diagReplySchema = z.object({
  nonce: z.string().min(1).max(MAX_TEXT),
  id: z.number().int().min(0).optional(),
  data: z.array(shardDiagSchema).max(100_000),
});
export type DiagReply = z.infer<typeof diagReplySchema>;

/** Arguments of the launcher actions that take a cluster id. */
export const clusterIdArgsSchema = z.object({ id: z.number().int().min(0) });

export type Incoming =
  | { kind: 'message'; message: IpcMessage }
  | { kind: 'diag_ping'; ping: DiagPing }
  | { kind: 'invalid'; error: string; command_id?: string };

const MAX_MESSAGE_BYTES = 1_000_000;

/** Parses one raw pub/sub payload. Never throws. */
export function parseIncoming(raw: string): Incoming {
  if (raw.length > MAX_MESSAGE_BYTES) return { kind: 'invalid', error: `message too large (${raw.length} bytes)` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { kind: 'invalid', error: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', error: 'not a JSON object' };
  }
  if ('diag' in value) {
    const ping = diagPingSchema.safeParse(value);
    return ping.success ? { kind: 'diag_ping', ping: ping.data } : { kind: 'invalid', error: describe(ping.error) };
  }
  const message = ipcMessageSchema.safeParse(value);
  if (message.success) return { kind: 'message', message: message.data };
  const commandId = (value as { command_id?: unknown }).command_id;
  return {
    kind: 'invalid',
    error: describe(message.error),
    ...(typeof commandId === 'string' && commandId.length > 0 && commandId.length <= MAX_TEXT ? { command_id: commandId } : {}),
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
