import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, ROOT, runSync } from '../helpers/process';

const SUBCOMMANDS = ['webserver', 'jobs', 'bot', 'proxy', 'mirror', 'sim', 'dev'];

describe('./splashtail', () => {
  it('--help lists the seven subcommands', () => {
    const { code, stdout } = runSync(['--help']);
    assert.equal(code, 0);
    for (const name of SUBCOMMANDS) assert.match(stdout, new RegExp(`^  ${name} `, 'm'));
  });

  for (const name of SUBCOMMANDS) {
    it(`${name} --help prints its options`, () => {
      const { code, stdout } = runSync([name, '--help']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`^Usage: splashtail ${name} `, 'm'));
      assert.match(stdout, /--config <path>/);
      assert.match(stdout, /--env <name>/);
    });
  }

  it('answers alike when its #! line starts Node (which then reads only its head) and as `node splashtail`', () => {
    for (const args of [['--version'], ['--help'], ['sim', '--help'], ['bot', '--cluster', 'x'], ['nope']]) {
      const direct = runSync(args);
      const viaNode = runSync([BIN, ...args], { bin: process.execPath });
      assert.deepEqual(direct, viaNode, args.join(' '));
    }
    assert.match(runSync(['bot', '--cluster', 'x']).stderr, /--cluster must be an integer >= 0/);
  });

  it('a missing config file says how to start from the example, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-cli-'));
    const { code, stderr } = runSync(['jobs', '--config', join(dir, 'config.yaml')], { cwd: dir });
    assert.equal(code, 2);
    assert.match(stderr, /config\.yaml: file not found at .*; start from the example: cp config\.yaml\.example config\.yaml/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  it('a bad config exits 2 with one line per problem and no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-cli-'));
    const path = join(dir, 'config.yaml');
    const text = readFileSync(join(ROOT, 'config.yaml.example'), 'utf8')
      .replace('port: 3010', 'port: abc')
      .replace('bot_iserver_secret: dev-iserver-secret-change-me-0123456789abcdef', 'bot_iserver_secret: hunter2');
    writeFileSync(path, text);
    for (const name of ['webserver', 'jobs', 'bot', 'proxy']) {
      const { code, stderr } = runSync([name, '--config', path]);
      assert.equal(code, 2, `${name}: ${stderr}`);
      assert.deepEqual(stderr.trim().split('\n'), [
        'config.yaml: meta.port: must be an integer 1-65535, got "abc"',
        'config.yaml: meta.bot_iserver_secret: must be a secret of at least 32 characters, got <redacted, 7 characters>',
      ]);
      assert.doesNotMatch(stderr, /hunter2/, 'the secret is never printed');
    }
  });
});
