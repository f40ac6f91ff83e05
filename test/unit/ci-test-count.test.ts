// .ci/check-test-count: CI fails when fewer tests ran than the test files declare (node --test
// with no files runs 0 tests and exits 0), or when any failed or was cancelled.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/process';

const summary = (tests: number, fail = 0, cancelled = 0) =>
  `TAP version 13\n1..1\n# tests ${tests}\n# suites 1\n# pass ${tests - fail - cancelled}\n# fail ${fail}\n# cancelled ${cancelled}\n# skipped 0\n# todo 0\n`;

function check(log: string): { code: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'st-ci-'));
  mkdirSync(join(root, 'test/unit'), { recursive: true });
  mkdirSync(join(root, 'test/chaos'), { recursive: true });
  // 3 declared: two tests, one in a loop (counted once), one skipped; chaos is not part of `make test`.
  writeFileSync(join(root, 'test/unit/a.test.ts'), "describe('a', () => {\n  it('one', () => {});\n  for (const x of [1, 2]) {\n    it(`loop ${x}`, () => {});\n  }\n  it.skip('later', () => {});\n});\n");
  writeFileSync(join(root, 'test/chaos/c.test.ts'), "it('slow', () => {});\nit('slower', () => {});\n");
  writeFileSync(join(root, 'run.tap'), log);
  const result = spawnSync(join(ROOT, '.ci/check-test-count'), [join(root, 'run.tap'), root], { encoding: 'utf8' });
  return { code: result.status, out: result.stdout + result.stderr };
}

describe('.ci/check-test-count', () => {
  it('fails when no tests ran (node --test with no files exits 0)', () => {
    const { code, out } = check(summary(0));
    assert.equal(code, 1);
    assert.match(out, /only 0 tests ran; the test files declare at least 3/);
  });

  it('fails when fewer tests ran than declared', () => assert.equal(check(summary(2)).code, 1));
  it('fails without a TAP summary', () => assert.equal(check('make: *** [test] Error 2\n').code, 1));
  it('fails when a test failed or was cancelled', () => {
    assert.equal(check(summary(4, 1)).code, 1);
    assert.equal(check(summary(4, 0, 1)).code, 1);
  });

  it('passes when at least the declared tests ran, none failed', () => {
    const { code, out } = check(summary(4));
    assert.equal(code, 0, out);
    assert.match(out, /4 tests ran \(at least 3 declared\)/);
  });
});
