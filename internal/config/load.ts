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
  // The text did not parse, so its secrets are found by key name on each line.
  const textSecrets = new Set([...text.matchAll(SECRET_LINE)].map((m) => m[1]!.trim().replace(/^["'*&]|["']$/g, '')).filter((v) => v.length >= 8));
  if (doc.errors.length > 0) {
    throw new ConfigError(
      scrub(doc.errors.map((e) => `${name}: line ${(e.linePos?.[0]?.line ?? 0) || '?'}: YAML syntax error: ${e.message.split('\n')[0]}`), textSecrets),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // e.g. an alias (`*name`) with no anchor before it: not a syntax error, found only here.
    throw new ConfigError(scrub([`${name}: YAML error: ${(err as Error).message.split('\n')[0]}`], textSecrets));
  }
  if (!isObject(raw)) throw new ConfigError([`${name}: must be a YAML mapping of sections, got ${redacted(raw)}`]);

  const problems: string[] = [];
  applyEnvOverrides(raw, environ, problems, name);
  const secrets = secretValues(raw);
  const envName = env ?? (typeof raw.env === 'string' ? raw.env : 'staging');
  raw.env = envName;
  const resolved = resolveEnvValues(raw, envName, [], problems, name) as Raw;

  const warnings = scrub(unknownKeys(configSchema, resolved, []).map((p) => `${name}: ${p}: unknown key (ignored)`), secrets);
  const result = configSchema.safeParse(resolved, { reportInput: true });
  if (!result.success) problems.push(...result.error.issues.map((issue) => formatIssue(name, issue)));
  if (problems.length > 0 || !result.success) throw new ConfigError(scrub(problems, secrets));
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
  // A value where a section belongs is shown by shape only: it may be a secret one level too high.
  const hide = SECRET_PATH.test(path) || (issue.code === 'invalid_type' && issue.expected === 'object');
  return `${name}: ${path}: ${message}, got ${hide ? redacted(input) : describe(input)}`;
}

/** Values under these keys are never echoed back, whatever their type and whatever the error. */
const SECRET_PATH = /secret|token|password|key/i;
/** `<secret-named key>: <value>` on one line of the YAML text. */
const SECRET_LINE = /^\s*[\w-]*(?:secret|token|password|key)[\w-]*\s*:[ \t]*([^\n#]+)/gim;

function redacted(value: unknown): string {
  if (typeof value === 'string') return `<redacted, ${value.length} characters>`;
  return `<redacted ${Array.isArray(value) ? 'list' : isObject(value) ? 'mapping' : typeof value}>`;
}

/**
 * The wrong value, shown so the operator sees what was read. A mapping or a list of strings
 * may hold secrets under a name we cannot know (a typo'd environment key), so they are
 * described by shape only; a URL loses its password.
 */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (isObject(value)) return `a mapping (keys: ${Object.keys(value).join(', ')})`;
  if (Array.isArray(value) && !value.every((v) => typeof v === 'number' || typeof v === 'boolean' || v === null)) {
    return `a list of ${value.length} items`;
  }
  const text = typeof value === 'string' ? JSON.stringify(withoutPassword(value)) : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function withoutPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}

/** Every string under a secret-named key, and every URL password, anywhere in the raw config. */
function secretValues(value: unknown, secretPath = false, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    if (secretPath && value.length >= 8) found.add(value);
    try {
      const password = decodeURIComponent(new URL(value).password);
      if (password.length >= 8) found.add(password);
    } catch {
      // not a URL
    }
  } else if (Array.isArray(value)) {
    for (const v of value) secretValues(v, secretPath, found);
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) secretValues(v, secretPath || SECRET_PATH.test(k), found);
  }
  return found;
}

/** The last line of defence: no secret of the config appears in any message, whatever its path. */
function scrub(lines: string[], secrets: Set<string>): string[] {
  const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
  return lines.map((line) => longestFirst.reduce((l, secret) => l.split(secret).join('<redacted>'), line));
}
