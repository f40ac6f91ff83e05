// Writes a config for one test: config.yaml.example with the given changes (dotted paths).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT } from './process';

export function writeTestConfig(changes: Record<string, unknown>): { path: string; dir: string } {
  const doc = YAML.parseDocument(readFileSync(join(ROOT, 'config.yaml.example'), 'utf8'));
  for (const [path, value] of Object.entries(changes)) {
    if (value === undefined) doc.deleteIn(path.split('.'));
    else doc.setIn(path.split('.'), value);
  }
  const dir = mkdtempSync(join(tmpdir(), 'st-test-'));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, doc.toString());
  return { path, dir };
}
