// Loads config.yaml: YAML -> environment overrides -> per-environment values -> schema.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { type Config, configSchema } from './schema';

/** Environment names that may key a per-environment value (`{staging: ..., prod: ...}`). */
export const KNOWN_ENVS = ['dev', 'staging', 'prod'];
/** `SPLASHTAIL__META__PORT=4000` sets meta.port; the value is read as YAML (numbers, lists, ...). */
export const ENV_PREFIX = 'SPLASHTAIL__';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  path: string;
  env?: string;
  environ?: NodeJS.ProcessEnv;
}

export interface Loaded {
  config: Config;
  warnings: string[];
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function loadConfig({ path, env, environ = process.env }: LoadOptions): Loaded {
  const name = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError([
        `${name}: file not found at ${path}; start from the example: cp config.yaml.example config.yaml`,
      ]);
    }
    throw new ConfigError([`${name}: cannot read ${path}: ${code ?? String(err)}`]);
  }
  return parseConfig(text, { name, env, environ });
}

export function parseConfig(
  text: string,
  { name = 'config.yaml', env, environ = process.env }: { name?: string; env?: string; environ?: NodeJS.ProcessEnv },
): Loaded {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => `${name}: line ${(e.linePos?.[0]?.line ?? 0) || '?'}: YAML syntax error: ${e.message.split('\n')[0]}`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!isObject(raw)) throw new ConfigError([`${name}: must be a YAML mapping of sections, got ${describe(raw)}`]);

  const problems: string[] = [];
  applyEnvOverrides(raw, environ, problems, name);
  const envName = env ?? (typeof raw.env === 'string' ? raw.env : 'staging');
  raw.env = envName;
  const resolved = resolveEnvValues(raw, envName, [], problems, name) as Raw;

  const warnings = unknownKeys(configSchema, resolved, []).map((p) => `${name}: ${p}: unknown key (ignored)`);
  const result = configSchema.safeParse(resolved, { reportInput: true });
  if (!result.success) problems.push(...result.error.issues.map((issue) => formatIssue(name, issue)));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return { config: result.data, warnings };
}

function applyEnvOverrides(raw: Raw, environ: NodeJS.ProcessEnv, problems: string[], name: string) {
  for (const [key, value] of Object.entries(environ)) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = key.slice(ENV_PREFIX.length).toLowerCase().split('__');
    let parsed: unknown;
    try {
      parsed = YAML.parse(value);
    } catch {
      problems.push(`${name}: ${key}: environment value is not valid YAML`);
      continue;
    }
    setPath(raw, path, parsed);
  }
  if (environ.DISCORD_TOKEN) setPath(raw, ['discord_auth', 'token'], environ.DISCORD_TOKEN);
}

function setPath(target: Raw, path: string[], value: unknown) {
  let node = target;
  for (const part of path.slice(0, -1)) {
    if (!isObject(node[part])) node[part] = {};
    node = node[part] as Raw;
  }
  node[path[path.length - 1]!] = value;
}

function isEnvMap(value: unknown, envName: string): value is Raw {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k === envName || KNOWN_ENVS.includes(k));
}

function resolveEnvValues(value: unknown, envName: string, path: string[], problems: string[], name: string): unknown {
  if (isEnvMap(value, envName)) {
    if (!(envName in value)) {
      problems.push(`${name}: ${path.join('.')}: has no value for environment "${envName}"`);
      return undefined;
    }
    return resolveEnvValues(value[envName], envName, path, problems, name);
  }
  if (isObject(value)) {
    // `key:` with nothing after it is YAML null; treat it as not set so defaults apply.
    return Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, resolveEnvValues(v, envName, [...path, k], problems, name)]),
    );
  }
  return value;
}

/** Keys present in the input but not in the schema, as dotted paths. */
function unknownKeys(schema: z.ZodType, value: unknown, path: string[]): string[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject) || !isObject(value)) return [];
  const shape = inner.shape as Record<string, z.ZodType>;
  return Object.entries(value).flatMap(([key, v]) => {
    const field = shape[key];
    return field ? unknownKeys(field, v, [...path, key]) : [[...path, key].join('.')];
  });
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}

function formatIssue(name: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.') || '(top level)';
  const input = (issue as { input?: unknown }).input;
  if (input === undefined && issue.code === 'invalid_type') return `${name}: ${path}: is required`;
  const message =
    issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')
      ? `must be ${issue.expected === 'object' ? 'a mapping of keys' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`
      : issue.message;
  const shown = SECRET_PATH.test(path) && typeof input === 'string' ? `<redacted, ${input.length} characters>` : describe(input);
  return `${name}: ${path}: ${message}, got ${shown}`;
}

/** Values under these keys are never echoed back, even when wrong. */
const SECRET_PATH = /secret|token|password/;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 80 ? `${JSON.stringify(value.slice(0, 77))}...` : JSON.stringify(value);
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
