import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { ConfigError, parseConfig } from '../../internal/config';
import { ROOT } from '../helpers/process';

const example = readFileSync(`${ROOT}/config.yaml.example`, 'utf8');

/** The example config with one change applied; `undefined` deletes the key. */
function withChange(path: string, value: unknown): string {
  const doc = YAML.parseDocument(example);
  const keys = path.split('.');
  if (value === undefined) doc.deleteIn(keys);
  else doc.setIn(keys, value);
  return doc.toString();
}

function problems(text: string, environ: NodeJS.ProcessEnv = {}, env?: string): string[] {
  try {
    parseConfig(text, { environ, env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.problems;
  }
  assert.fail('expected the config to be refused');
}

describe('config', () => {
  it('accepts config.yaml.example unchanged, with no warnings', () => {
    const { config, warnings } = parseConfig(example, { environ: {} });
    assert.deepEqual(warnings, []);
    assert.equal(config.env, 'staging');
    assert.equal(config.meta.port, 3010);
    assert.equal(config.meta.jobserver_secrets.bot, 'dev-jobserver-bot-secret-0123456789abcdef');
    assert.equal(config.clusterer.per_cluster, 2);
  });

  it('picks per-environment values for the selected environment', () => {
    const text = withChange('meta.port', { staging: 4000, prod: 80 });
    assert.equal(parseConfig(text, { environ: {} }).config.meta.port, 4000);
    const secrets = { SPLASHTAIL__META__JOBSERVER_SECRETS__PROD__API: 'a'.repeat(64), SPLASHTAIL__META__JOBSERVER_SECRETS__PROD__BOT: 'b'.repeat(64) };
    const prod = parseConfig(text, { env: 'prod', environ: secrets }).config;
    assert.equal(prod.meta.port, 80);
    assert.equal(prod.meta.jobserver_secrets.api, 'a'.repeat(64));
  });

  it('refuses the example\'s placeholders in every environment, naming each key', () => {
    assert.deepEqual(
      problems(example, {}, 'prod'),
      ['api', 'bot'].map((c) => `config.yaml: meta.jobserver_secrets.${c}: is the example's placeholder; generate a secret with openssl rand -hex 32, got <redacted, 43 characters>`),
    );
    const staging = problems(withChange('object_storage.signing_secret', 'replace-with-openssl-rand-hex-32-output-sign'));
    assert.match(staging.join('\n'), /^config\.yaml: object_storage\.signing_secret: is the example's placeholder/);
    for (const [path, value] of [['discord_auth.token', 'replace-with-your-bot-token'], ['discord_auth.client_secret', 'changeme']] as const) {
      assert.match(problems(withChange(path, value)).join('\n'), new RegExp(`^config\\.yaml: ${path.replace('.', '\\.')}: is a placeholder`));
    }
  });

  it('keeps the bot token without its `Bot ` prefix, however it was written', () => {
    for (const written of ['Bot abc.def.ghi', 'bot  abc.def.ghi', ' abc.def.ghi ']) {
      assert.equal(parseConfig(withChange('discord_auth.token', written), { environ: {} }).config.discord_auth.token, 'abc.def.ghi');
    }
    assert.equal(parseConfig(example, { environ: { DISCORD_TOKEN: 'Bot from-env' } }).config.discord_auth.token, 'from-env');
    assert.deepEqual(problems(withChange('discord_auth.token', 'Bot ')), ['config.yaml: discord_auth.token: must not be empty, got <redacted, 0 characters>']);
  });

  describe('never prints a secret, whatever the error', () => {
    const SECRET = 'S3cr3t-value-that-must-never-be-printed-0123456789';
    const cases: [string, string, NodeJS.ProcessEnv?][] = [
      ['a typo\'d environment key under jobserver_secrets', withChange('meta.jobserver_secrets', { staging: { api: SECRET, bot: SECRET }, prdo: { api: SECRET } })],
      ['jobserver_secrets as a list', withChange('meta.jobserver_secrets', [SECRET, SECRET])],
      ['a secret in a list of names', withChange('clusterer.names', [SECRET, 5])],
      ['s3 without a bucket (the whole section is the input)', withChange('object_storage', { type: 's3', signing_secret: SECRET, secret_key: SECRET, access_key: SECRET })],
      ['a token given as a mapping', withChange('discord_auth.token', { value: SECRET })],
      ['a token with a missing environment', withChange('discord_auth.token', { prod: SECRET })],
      ['a URL with a password of the wrong scheme', withChange('meta.redis_url', `http://user:${SECRET}@127.0.0.1:6379`)],
      ['a section that is a string', withChange('discord_auth', SECRET)],
      ['a secret given as a number in the environment', example, { SPLASHTAIL__META__BOT_ISERVER_SECRET: '12345', SPLASHTAIL__META__JOBSERVER_SECRETS: `{prdo: {api: ${SECRET}}}`, DISCORD_TOKEN: SECRET }],
    ];
    const raw = (line: string) => example.replace('bot_iserver_secret: dev-iserver-secret-change-me-0123456789abcdef', line);
    cases.push(
      ['an alias with no anchor (a YAML error found after parsing)', raw(`bot_iserver_secret: *${SECRET}`)],
      ['a YAML syntax error on a secret line', raw(`bot_iserver_secret: "${SECRET}`)],
      ['a file that is only the secret', SECRET],
    );
    for (const [name, text, environ] of cases) {
      it(name, () => {
        const lines = problems(text, environ);
        assert.ok(lines.length > 0);
        for (const line of lines) assert.ok(!line.includes(SECRET.slice(0, 12)), `secret printed: ${line}`);
      });
    }
  });

  it('applies SPLASHTAIL__ overrides and DISCORD_TOKEN', () => {
    const { config } = parseConfig(example, {
      environ: { SPLASHTAIL__META__PORT: '4321', SPLASHTAIL__PROXY__SHARDS: '[0, 3]', DISCORD_TOKEN: 'from-env' },
    });
    assert.equal(config.meta.port, 4321);
    assert.deepEqual(config.proxy.shards, [0, 3]);
    assert.equal(config.discord_auth.token, 'from-env');
  });

  it('warns about unknown keys by name', () => {
    const { warnings } = parseConfig(withChange('meta.prot', 1), { environ: {} });
    assert.deepEqual(warnings, ['config.yaml: meta.prot: unknown key (ignored)']);
  });

  const bad: [string, string, RegExp][] = [
    ['port not a number', withChange('meta.port', 'abc'), /^config\.yaml: meta\.port: must be an integer 1-65535, got "abc"$/],
    ['port out of range', withChange('meta.port', 70000), /^config\.yaml: meta\.port: must be an integer 1-65535, got 70000$/],
    ['port fractional', withChange('meta.jobserver_port', 30.5), /^config\.yaml: meta\.jobserver_port: must be an integer/],
    ['missing token', withChange('discord_auth.token', undefined), /^config\.yaml: discord_auth\.token: is required$/],
    ['missing section', withChange('meta', undefined), /^config\.yaml: meta: is required$/],
    ['bad postgres url', withChange('meta.postgres_url', 'mysql://x'), /^config\.yaml: meta\.postgres_url: must be a URL starting with postgres:\/\//],
    ['redis url not a url', withChange('meta.redis_url', 'localhost'), /^config\.yaml: meta\.redis_url: must be a URL/],
    ['bad amqp url', withChange('meta.amqp_url', 'http://x'), /^config\.yaml: meta\.amqp_url: must be a URL starting with amqp:\/\//],
    ['bad site url', withChange('sites.frontend', 'not a url'), /^config\.yaml: sites\.frontend: must be a URL/],
    ['short jobserver secret', withChange('meta.jobserver_secrets.staging.bot', 'short'), /^config\.yaml: meta\.jobserver_secrets\.bot: must be a secret of at least 32 characters, got <redacted, 5 characters>$/],
    ['short iserver secret', withChange('meta.bot_iserver_secret', 'x'.repeat(31)), /^config\.yaml: meta\.bot_iserver_secret: must be a secret of at least 32/],
    ['client id not a snowflake', withChange('discord_auth.client_id', 'abc'), /^config\.yaml: discord_auth\.client_id: must be a Discord id/],
    ['per_cluster zero', withChange('clusterer.per_cluster', 0), /^config\.yaml: clusterer\.per_cluster: must be an integer 1-10000, got 0$/],
    ['names not a list', withChange('clusterer.names', 'Alpha'), /^config\.yaml: clusterer\.names: must be a list of names, got "Alpha"$/],
    ['bool as string', withChange('proxy.amqp.enabled', 'yes please'), /^config\.yaml: proxy\.amqp\.enabled: must be true or false/],
    ['bad storage type', withChange('object_storage.type', 'ftp'), /^config\.yaml: object_storage\.type: must be "local" or "s3", got "ftp"$/],
    ['s3 without bucket', withChange('object_storage.type', 's3'), /^config\.yaml: object_storage: type "s3" needs endpoint and bucket/],
    ['bad shard range', withChange('proxy.shards', 'some'), /^config\.yaml: proxy\.shards: must be "all", "auto" or \[first, last\]/],
    ['lease too short', withChange('proxy.lease_seconds', 1), /^config\.yaml: proxy\.lease_seconds: must be an integer 2-3600, got 1$/],
    ['node name with a space', withChange('proxy.node_name', 'proxy a'), /^config\.yaml: proxy\.node_name: must be a name without spaces/],
    ['env value missing', withChange('meta.port', { prod: 80 }), /^config\.yaml: meta\.port: has no value for environment "staging"$/],
    ['section not a map', withChange('clusterer', 5), /^config\.yaml: clusterer: /],
  ];
  for (const [name, text, pattern] of bad) {
    it(`refuses: ${name}`, () => {
      const lines = problems(text);
      assert.ok(lines.some((l) => pattern.test(l)), `no line matches ${pattern}:\n${lines.join('\n')}`);
    });
  }

  it('refuses YAML syntax errors with the line number', () => {
    const lines = problems('env: staging\nmeta:\n  port: [1, 2\n');
    assert.match(lines[0]!, /^config\.yaml: line \d+: YAML syntax error: /);
  });

  it('reports every problem, one per line', () => {
    const text = withChange('meta.port', 'abc').replace('per_cluster: 2', 'per_cluster: -1');
    const lines = problems(text);
    assert.equal(lines.length, 2, lines.join('\n'));
  });

  it('refuses a bad override from the environment', () => {
    const lines = problems(example, { SPLASHTAIL__META__PORT: 'abc' });
    assert.deepEqual(lines, ['config.yaml: meta.port: must be an integer 1-65535, got "abc"']);
  });
});
