// `make install DESTDIR=<tmp>` stages the binary, the systemd units, the config and the user
// (as a sysusers.d file) in a temp root, changing nothing on this host; the units it installs
// are what systemd accepts and what an operator needs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../internal/config';
import { ROOT, runSync } from '../helpers/process';

const SERVICES = ['webserver', 'jobs', 'bot', 'proxy', 'mirror'];

/** `Key=value` lines of a unit file (a key may repeat). */
function directives(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

const userExists = (name: string) => spawnSync('getent', ['passwd', name]).status === 0;

describe('make install', () => {
  let root: string;
  let install: ReturnType<typeof spawnSync>;
  const units = () => Object.fromEntries(SERVICES.map((s) => [s, readFileSync(join(root, `etc/systemd/system/splashtail-${s}.service`), 'utf8')]));
  const userBefore = userExists('splashtail');

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'st-install-'));
    install = spawnSync('make', ['--no-print-directory', 'install', `DESTDIR=${root}`, 'PREFIX=/usr'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('with DESTDIR stages binary, units, config, environment file and a sysusers.d user; no user is created here', () => {
    assert.equal(install.status, 0, String(install.stderr));
    const mode = (path: string) => (statSync(join(root, path)).mode & 0o777).toString(8);
    assert.equal(mode('usr/bin/splashtail'), '755');
    assert.equal(mode('etc/splashtail/config.yaml'), '640', 'the config holds secrets');
    assert.equal(mode('etc/splashtail/splashtail.env'), '640', 'the environment file holds the token');
    assert.deepEqual(readdirSync(join(root, 'etc/systemd/system')).sort(), SERVICES.map((s) => `splashtail-${s}.service`).sort());
    assert.match(readFileSync(join(root, 'usr/lib/sysusers.d/splashtail.conf'), 'utf8'), /^u splashtail - ".*" \/var\/lib\/splashtail /m);
    assert.match(readFileSync(join(root, 'usr/lib/tmpfiles.d/splashtail.conf'), 'utf8'), /^z \/etc\/splashtail\/config\.yaml 0640 root splashtail -$/m);
    assert.equal(userExists('splashtail'), userBefore, 'no user created on the host');
    const env = readFileSync(join(root, 'etc/splashtail/splashtail.env'), 'utf8');
    for (const name of ['DISCORD_TOKEN', 'LOG_LEVEL', 'BOOTSTRAP_COMMANDS']) assert.match(env, new RegExp(`^#?${name}=`, 'm'));
  });

  it('keeps an operator\'s config and environment file on a second install', () => {
    writeFileSync(join(root, 'etc/splashtail/config.yaml'), 'env: prod\n');
    const again = spawnSync('make', ['--no-print-directory', 'install', `DESTDIR=${root}`, 'PREFIX=/usr'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(join(root, 'etc/splashtail/config.yaml'), 'utf8'), 'env: prod\n');
    writeFileSync(join(root, 'etc/splashtail/config.yaml'), readFileSync(join(ROOT, 'config.yaml.example')));
  });

  it('units: a dedicated user, the environment file, no restart on a config error, after the proxy', () => {
    for (const [service, text] of Object.entries(units())) {
      assert.deepEqual(directives(text, 'User'), ['splashtail'], service);
      assert.deepEqual(directives(text, 'EnvironmentFile'), ['/etc/splashtail/splashtail.env'], service);
      assert.deepEqual(directives(text, 'ExecStart'), [`/usr/bin/splashtail ${service} --config /etc/splashtail/config.yaml`], service);
      assert.ok(existsSync(join(root, 'usr/bin/splashtail')) && existsSync(join(root, 'etc/splashtail/config.yaml')));
      assert.deepEqual(directives(text, 'Restart'), ['always'], service);
      assert.deepEqual(directives(text, 'RestartPreventExitStatus'), ['2'], service);
      assert.deepEqual(directives(text, 'KillSignal'), ['SIGTERM'], service);
      const after = directives(text, 'After').join(' ').split(/\s+/);
      assert.equal(after.includes('splashtail-proxy.service'), service === 'bot' || service === 'webserver', `${service}: After=`);
      assert.deepEqual(directives(text, 'Wants'), ['network-online.target'], `${service}: the proxy is ordered, not pulled in`);
    }
  });

  it('exactly one of the bot and webserver units hosts the clusterer', () => {
    const config = readFileSync(join(root, 'etc/splashtail/config.yaml'), 'utf8');
    const hosts = Object.entries(units())
      .filter(([service]) => service === 'bot' || service === 'webserver')
      .filter(([, text]) => {
        const environ = Object.fromEntries(directives(text, 'Environment').map((e) => e.split('=', 2) as [string, string]));
        return parseConfig(config, { environ }).config.clusterer.enabled;
      })
      .map(([service]) => service);
    assert.deepEqual(hosts, ['bot']);
  });

  it('a config error exits 2 (the status the units do not restart on)', () => {
    const config = join(root, 'etc/splashtail/config.yaml');
    for (const service of SERVICES) {
      // The example's prod secrets are placeholders: refused.
      const { code, stderr } = runSync([service, '--config', config], { env: { SPLASHTAIL__ENV: 'prod' } });
      assert.equal(code, 2, `${service}: ${stderr}`);
      assert.match(stderr, /meta\.jobserver_secrets\.api: is the example's placeholder/);
    }
  });

  it('systemd-analyze verify accepts the installed units', { skip: !hasSystemdAnalyze() && 'systemd-analyze not installed' }, () => {
    // verify checks ExecStart on this host: point it at the staged binary.
    const dir = join(root, 'verify');
    mkdirSync(dir);
    const files = Object.entries(units()).map(([service, text]) => {
      const file = join(dir, `splashtail-${service}.service`);
      writeFileSync(file, text.replace('/usr/bin/splashtail', join(root, 'usr/bin/splashtail')));
      return file;
    });
    const verify = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr, '', 'no warnings');
  });
});

/**
 * `make install` as on a real host, inside a private mount namespace whose /etc and
 * /usr/local/bin are throwaway copies: the user and files it creates vanish with the namespace.
 */
const SANDBOXED_INSTALL = `
set -euo pipefail
mount --make-rprivate /
etc=$(mktemp -d); mount -t tmpfs tmpfs "$etc"; cp -a /etc/. "$etc"/; mount --bind "$etc" /etc
mkdir -p /usr/local/bin; bin=$(mktemp -d); mount -t tmpfs tmpfs "$bin"; mount --bind "$bin" /usr/local/bin
make --no-print-directory install >&2
make --no-print-directory install >&2
getent passwd splashtail
stat -c '%n %U:%G %a' /etc/splashtail /etc/splashtail/config.yaml /etc/splashtail/splashtail.env /usr/local/bin/splashtail
grep -h '^ExecStart=' /etc/systemd/system/splashtail-*.service
`;

describe('make install on a host (sandboxed)', () => {
  // Skipped per test, not per suite: a skipped suite's tests are not counted (.ci/check-test-count).
  it('creates the splashtail system user once, installs into /usr/local and /etc, config readable by its group only', { skip: !canSandbox() && 'no private mount namespace here (needs root and unshare)' }, () => {
    const userBefore = userExists('splashtail');
    const run = spawnSync('unshare', ['--mount', '--fork', 'bash', '-c', SANDBOXED_INSTALL], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    const [passwd, ...rest] = run.stdout.trim().split('\n');
    assert.match(passwd!, /^splashtail:x:\d+:\d+:.*:\/var\/lib\/splashtail:\/usr\/sbin\/nologin$/);
    assert.ok(Number(passwd!.split(':')[2]) < 1000, 'a system user');
    assert.equal(run.stderr.match(/created system user splashtail/g)?.length, 1, 'created by the first install only');
    assert.deepEqual(rest.slice(0, 4), [
      '/etc/splashtail root:splashtail 750',
      '/etc/splashtail/config.yaml root:splashtail 640',
      '/etc/splashtail/splashtail.env root:splashtail 640',
      '/usr/local/bin/splashtail root:root 755',
    ]);
    assert.deepEqual(rest.slice(4).sort(), SERVICES.map((s) => `ExecStart=/usr/local/bin/splashtail ${s} --config /etc/splashtail/config.yaml`).sort());
    assert.equal(userExists('splashtail'), userBefore, 'the host is untouched');
  });
});

function canSandbox(): boolean {
  return spawnSync('unshare', ['--mount', '--fork', 'true']).status === 0;
}

function hasSystemdAnalyze(): boolean {
  return spawnSync('systemd-analyze', ['--version']).status === 0;
}
