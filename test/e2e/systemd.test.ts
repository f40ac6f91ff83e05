import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/process';

const SERVICES = ['webserver', 'jobs', 'bot', 'proxy'];

describe('deploy/systemd', () => {
  it('has one unit per service with restart policy and SIGTERM stop', () => {
    const units = readdirSync(`${ROOT}/deploy/systemd`).filter((f) => f.endsWith('.service')).sort();
    assert.deepEqual(units, SERVICES.map((s) => `splashtail-${s}.service`).sort());
    for (const service of SERVICES) {
      const text = readFileSync(`${ROOT}/deploy/systemd/splashtail-${service}.service`, 'utf8');
      assert.match(text, new RegExp(`^ExecStart=@WORKDIR@/splashtail ${service} --config `, 'm'));
      assert.match(text, /^Restart=always$/m);
      assert.match(text, /^KillSignal=SIGTERM$/m);
    }
  });

  it('renders units that systemd-analyze verify accepts', { skip: !hasSystemdAnalyze() && 'systemd-analyze not installed' }, () => {
    const render = spawnSync(`${ROOT}/deploy/render-units.sh`, { env: { ...process.env, ENV: 'prod' }, encoding: 'utf8' });
    assert.equal(render.status, 0, render.stderr);
    const files = SERVICES.map((s) => `${ROOT}/deploy/systemd/rendered/splashtail-prod-${s}.service`);
    const verify = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(readFileSync(files[0]!, 'utf8'), new RegExp(`ExecStart=${ROOT}/splashtail webserver --config ${ROOT}/config.yaml --env prod`));
  });
});

function hasSystemdAnalyze(): boolean {
  return spawnSync('systemd-analyze', ['--version']).status === 0;
}
