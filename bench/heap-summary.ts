// Self size of a .heapsnapshot by node type and constructor, largest first: the before/after
// figures of the proxy's memory note. Streams the file (snapshots outgrow one JS string).
//   node --import tsx bench/heap-summary.ts <file> [top]
//   node --import tsx bench/heap-summary.ts --take [guilds] ['{"proxy.guild_state.members":"self"}']
// `--take` starts the sim's realistic world and a proxy on it, waits until every shard is ready
// and the proxy idle, writes the proxy's heap snapshot (SIGUSR2) under /tmp and summarizes it.
import { createReadStream, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dropKeys, rssMiB, sleep, startProxy, startSim, waitIdle, waitProxyReady } from './lib';

/** A growable array of the snapshot's integers. */
class Ints {
  data = new Float64Array(1 << 20);
  length = 0;
  push(n: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = n;
  }
}

/** Holders looked through: containers, not owners. */
const PASSED = new Set(['(array)', 'Array', 'Object', '(hidden)', '(concatenated string)', '(sliced string)', 'Map', 'Set']);

/** What a string holds, with digits folded: a JSON member, an id, a key... */
const shapeOf = (text: string) => text.slice(0, 28).replace(/[0-9]/g, '9').replace(/\s/g, ' ');

async function summarize(file: string, top: number): Promise<void> {
  // The snapshot ends with "nodes":[...], "edges":[...], ..., "strings":[...]: numbers are
  // scanned as they stream by; the strings are kept to name the constructors.
  let meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } | undefined;
  let head = '';
  let section = '';
  let num = '';
  const nodes = new Ints();
  const edges = new Ints();
  let strings = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    let text = chunk as string;
    if (!meta) {
      head += text;
      const at = head.indexOf('"nodes":[');
      if (at < 0) continue;
      meta = JSON.parse(head.slice(head.indexOf('"meta":') + 7, head.indexOf(',"node_count"'))) as typeof meta;
      text = head.slice(at);
      section = '';
    }
    for (let i = 0; i < text.length; i++) {
      if (section === 'strings') {
        strings += text.slice(i);
        break;
      }
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) num += text[i];
      else {
        if (num !== '' && section === 'nodes') nodes.push(Number(num));
        else if (num !== '' && section === 'edges') edges.push(Number(num));
        num = '';
        if (c === 34 /* " */) {
          const end = text.indexOf('"', i + 1);
          const key = text.slice(i + 1, end);
          if (key === 'nodes' || key === 'edges' || key === 'locations' || key === 'samples' || key === 'trace_tree' || key === 'trace_function_infos') section = key;
          if (key === 'strings') {
            section = 'strings';
            i = text.indexOf('[', end);
            strings = '[';
            continue;
          }
          i = end;
        }
      }
    }
  }
  const names = JSON.parse(strings.slice(0, strings.lastIndexOf(']') + 1)) as string[];
  const f = meta!.node_fields;
  const width = f.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size'), f.indexOf('edge_count')];
  const ef = meta!.edge_fields;
  const ewidth = ef.length;
  const [eTypeAt, eNameAt, eToAt] = [ef.indexOf('type'), ef.indexOf('name_or_index'), ef.indexOf('to_node')];
  const types = meta!.node_types[0];
  const edgeTypes = meta!.edge_types[0];
  const n = nodes.length / width;
  const N = nodes.data;
  const E = edges.data;
  const typeOf = (i: number) => types[N[i * width + typeAt]!]!;
  const nameOf = (i: number) => {
    const type = typeOf(i);
    return type === 'object' || type === 'closure' ? names[N[i * width + nameAt]!]! : `(${type})`;
  };
  // The first strong retainer of each node, and the edge's name: enough to say what holds what.
  const parent = new Int32Array(n).fill(-1);
  const parentEdge = new Int32Array(n).fill(-1);
  for (let i = 0, e = 0; i < n; i++) {
    const count = N[i * width + edgeCountAt]!;
    for (let k = 0; k < count; k++, e += ewidth) {
      const to = E[e + eToAt]! / width;
      if (edgeTypes[E[e + eTypeAt]!] === 'weak' || parent[to] !== -1) continue;
      parent[to] = i;
      parentEdge[to] = e;
    }
  }
  const edgeName = (e: number) => {
    const type = edgeTypes[E[e + eTypeAt]!];
    return type === 'element' || type === 'hidden' ? `[]` : `.${names[E[e + eNameAt]!]}`;
  };
  // Up to the first object with a name of its own (past plain arrays, Objects and Map tables).
  const holder = (i: number) => {
    const path: string[] = [];
    for (let at = i, hops = 0; parent[at] !== -1 && hops < 12; hops++) {
      path.unshift(edgeName(parentEdge[at]!));
      at = parent[at]!;
      const name = nameOf(at);
      if (!PASSED.has(name)) {
        path.unshift(name);
        break;
      }
    }
    return path.join('').replace(/(\.first|\.second)+/g, '.(cons)').replace(/(\[\])+/g, '[]').replace(/\.table\.\d+/g, '.table').slice(0, 90);
  };
  const byKey = new Map<string, { size: number; count: number }>();
  const byHolder = new Map<string, { size: number; count: number }>();
  const add = (map: typeof byKey, key: string, size: number) => {
    const e = map.get(key) ?? { size: 0, count: 0 };
    e.size += size;
    e.count++;
    map.set(key, e);
  };
  let total = 0;
  for (let i = 0; i < n; i++) {
    const size = N[i * width + sizeAt]!;
    const name = nameOf(i);
    add(byKey, name.slice(0, 60), size);
    total += size;
    if (size >= 32) {
      const what = typeOf(i) === 'string' ? `"${shapeOf(names[N[i * width + nameAt]!]!)}"` : name.slice(0, 30);
      add(byHolder, `${what.padEnd(32)} <- ${holder(i)}`, size);
    }
  }
  const print = (map: typeof byKey) => {
    for (const [key, { size, count }] of [...map].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
      process.stdout.write(`${(size / 2 ** 20).toFixed(1).padStart(8)} MiB ${String(count).padStart(10)}  ${key}\n`);
    }
  };
  process.stdout.write(`${file}: ${(total / 2 ** 20).toFixed(1)} MiB in ${n} nodes\nby constructor:\n`);
  print(byKey);
  process.stdout.write('by content and holder (nodes of 32 bytes or more):\n');
  print(byHolder);
}

async function take(guilds: number, extra: Record<string, unknown>): Promise<string> {
  const shards = Math.ceil(guilds / 1_000);
  const dir = mkdtempSync('/tmp/proxy-heap-');
  const { sim, url: simUrl } = await startSim(['--profile', 'realistic', '--shards', String(shards), '--guilds', String(guilds), '--max-concurrency', String(shards), '--identify-interval-ms', '0']);
  const { proxy, url, prefix } = await startProxy(simUrl, extra, `--max-old-space-size=4096 --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`);
  await waitProxyReady(url, shards, 600_000);
  await waitIdle(proxy.child.pid!);
  await sleep(10_000);
  process.stdout.write(`proxy RSS before the snapshot: ${rssMiB(proxy.child.pid!).toFixed(0)} MiB\n`);
  proxy.child.kill('SIGUSR2');
  // Written synchronously by the proxy: done once the file stops growing.
  let file = '';
  for (let last = -1; ; ) {
    await sleep(3_000);
    file = readdirSync(dir).map((f) => join(dir, f)).find((f) => f.endsWith('.heapsnapshot')) ?? '';
    const size = file ? statSync(file).size : -1;
    if (size > 0 && size === last) break;
    last = size;
  }
  await proxy.stop();
  await sim.stop();
  await dropKeys(prefix);
  return file;
}

async function main(): Promise<void> {
  const [arg, second, third] = process.argv.slice(2);
  if (arg === '--take') return summarize(await take(Number(second ?? 10_000), third ? (JSON.parse(third) as Record<string, unknown>) : {}), 25);
  return summarize(arg!, Number(second ?? 20));
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
