// Builds the single executable ./splashtail (and splashtail.pieces.json, what each piece holds).
//
// Why this shape: Node reads and compiles all of a script it runs, even code sitting in functions
// never called, so one 9 MB bundle cost every process about 1 s and 80 MiB more than Node itself
// before it did anything (`--help` took 121 MiB). So esbuild splits the program at each `import()`
// (each subcommand's service code, and optional parts such as the S3 client or a file of the docs
// UI), and this script packs the pieces into one file: a small loader and an index, then every
// piece in one trailing comment. Node parses the loader and skips the comment; the
// loader reads a piece from the file when it is first needed. A process thus parses the entry
// (commander and the subcommands' options) and only the pieces its code imports.
//
// esbuild splits only ES modules; each piece is then turned into CommonJS (`import()` included)
// so that the loader can evaluate it with vm.compileFunction and a `require` that serves the
// other pieces (read from the executable) and Node's built-ins from Node: no file is written at run time, and the
// copied file needs nothing but Node 20 (no node_modules).
import { Buffer } from 'node:buffer';
import { chmodSync, readdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

// Optional add-ons that libraries probe for with require() and do without when absent.
const OPTIONAL = ['zlib-sync', 'bufferutil', 'utf-8-validate', 'erlpack', '@discordjs/voice', 'pg-native', 'pino-pretty'];

const { outputFiles, metafile } = await build({
  entryPoints: ['cmd/splashtail.ts'],
  outdir: 'pieces',
  outbase: '.',
  entryNames: '[dir]/[name]',
  chunkNames: 'shared/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  write: false,
  metafile: true,
  // ESM dependencies (e.g. @discordjs/ws) read import.meta.url; the loader passes it to each piece.
  define: { 'import.meta.url': '__importMetaUrl' },
  external: OPTIONAL,
  plugins: [swaggerUiFromMemory()],
  logLevel: 'warning',
});

// Each piece minified (whitespace and syntax: names stay readable in stack traces) and stored as
// is: compressed pieces cost each process a decompressor's buffers, about 5 MiB of memory that
// malloc kept after, for a file 6 MB smaller on disk. A piece sits in a comment, so its `*/` are
// written `*\0/` (esbuild's output has no NUL of its own: it escapes them).
const pieces = [];
for (const file of outputFiles) {
  const name = relative(join(process.cwd(), 'pieces'), file.path);
  const { entryPoint } = metafile.outputs[relative(process.cwd(), file.path)];
  // esbuild splits off an import() of a CommonJS module as `export default require_x()`; Node's
  // import() gives that module's properties too (`(await import('@aws-sdk/client-s3')).S3Client`),
  // so such a piece exports the module itself, which the importer's __toESM() then wraps.
  const commonJs = entryPoint && metafile.inputs[entryPoint]?.format === 'cjs' ? '\nmodule.exports = module.exports.default;' : '';
  const { code } = await transform(file.text, { format: 'cjs', target: 'node20', minifyWhitespace: true, minifySyntax: true, supported: { 'dynamic-import': false }, logLevel: 'warning' });
  if (code.includes('\0')) throw new Error(`build.mjs: piece ${name} holds a NUL character, which marks an escaped */`);
  const escaped = code.includes('*/');
  pieces.push({ name, escaped, text: Buffer.from((code + commonJs).replaceAll('*/', '*\0/')) });
}

// The executable. Its first line has Node read and run the head alone (the loader and the index,
// { piece: [offset, length, escaped] } with byte offsets from the start of the data): Node would read all
// of a script it is given, megabytes here, which cost `--help` a third of its time. The data, in
// one comment after the head, is read piece by piece by the loader. `node splashtail` works too:
// Node then reads it all and skips the comment.
const ENTRY = 'cmd/splashtail.js';
let offset = 0;
const index = Object.fromEntries(pieces.map(({ name, escaped, text }) => [name, [(offset += text.length) - text.length, text.length, escaped ? 1 : 0]]));
const launcher = (headLength) =>
  `{const f=require('fs'),d=f.openSync(process.argv[1]),b=Buffer.alloc(${headLength});f.readSync(d,b);f.closeSync(d);eval(b.latin1Slice(b.indexOf(10)))}`;
// The loader is compiled apart from the file's text: a function defined in the file itself would
// keep all of that text alive as its source for the life of the process.
const head = (length) => `#!/usr/bin/env -S node -e "${launcher(length)}"
// splashtail, built by build.mjs: a loader, the index of the pieces, then the pieces themselves
// in a comment, each read from this file when first needed (see build.mjs).
require('node:vm').compileFunction(${JSON.stringify(`return ${loader}`)}, [], { filename: 'splashtail-loader' })()(require, ${JSON.stringify(index)}, ${JSON.stringify(ENTRY)}, ${length + 3});
`;
let length = 0;
while (Buffer.byteLength(head(length)) !== length) length = Buffer.byteLength(head(length));
// Linux reads at most 255 bytes of the #! line.
if (head(length).indexOf('\n') > 255) throw new Error('build.mjs: the #! line of the executable is too long');
// Written beside and renamed over: a running process keeps reading its pieces from the file it
// started from (it holds it open), so the new file must be a new inode, not the old one rewritten.
writeFileSync('splashtail.tmp', Buffer.concat([Buffer.from(`${head(length)}/*\n`), ...pieces.map((p) => p.text), Buffer.from('\n*/\n')]));
chmodSync('splashtail.tmp', 0o755);
renameSync('splashtail.tmp', 'splashtail');

// Which source files each piece holds, for the tests that check what a subcommand loads.
const contents = Object.fromEntries(
  Object.entries(metafile.outputs)
    .filter(([path]) => path.endsWith('.js'))
    .map(([path, output]) => [relative('pieces', path), Object.keys(output.inputs)]),
);
writeFileSync('splashtail.pieces.json', `${JSON.stringify(contents, null, 1)}\n`);

/**
 * The runtime loader, written into the executable as source. A piece is read from the executable
 * and compiled the first time something requires it; `./x` and `../x` name other
 * pieces, anything else is Node's (built-ins, or an optional add-on found beside the executable).
 * The file stays open: a piece loaded late (the S3 client, a docs UI file) still comes from the
 * file this process started from after an upgrade renames a new one over it.
 * SPLASHTAIL_TRACE_PIECES=1 prints each piece as it loads, on stderr, with the subcommand and pid.
 */
function loader(require, index, entry, dataStart) {
  const path = require('node:path');
  // As Node gives it to a script it runs (absolute), also when the #! line had it run the head.
  const executable = path.resolve(process.argv[1]);
  process.argv[1] = executable;
  // Built-ins, and optional add-ons installed beside the executable.
  const nodeRequire = require('node:module').createRequire(executable);
  const { Buffer } = nodeRequire('node:buffer');
  const { fstatSync, openSync, readSync } = nodeRequire('node:fs');
  const { compileFunction } = nodeRequire('node:vm');
  const importMetaUrl = nodeRequire('node:url').pathToFileURL(executable).href;
  const trace = process.env.SPLASHTAIL_TRACE_PIECES === '1';
  const fd = openSync(executable, 'r');
  // A file rewritten in place (not renamed over) no longer holds the pieces where the index says.
  const stamp = (stat) => `${stat.size} ${stat.mtimeMs}`;
  const started = stamp(fstatSync(fd));
  const loaded = new Map();
  const load = (name) => {
    const known = loaded.get(name);
    if (known) return known.exports;
    if (!Object.hasOwn(index, name)) throw new Error(`splashtail: this executable has no piece ${name}`);
    if (stamp(fstatSync(fd)) !== started) throw new Error(`splashtail: ${executable} was rewritten while this process ran (piece ${name}); restart it`);
    if (trace) process.stderr.write(`splashtail ${process.argv[2] ?? ''}[${process.pid}]: piece ${name}\n`);
    const module = { exports: {} };
    loaded.set(name, module);
    const [offset, length, escaped] = index[name];
    const bytes = Buffer.allocUnsafe(length);
    readSync(fd, bytes, 0, length, dataStart + offset);
    const source = escaped ? bytes.toString().replaceAll('*\0/', '*/') : bytes.toString();
    const run = compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname', '__importMetaUrl'], {
      filename: path.join(executable, name),
    });
    const pieceRequire = (id) => (id.startsWith('./') || id.startsWith('../') ? load(path.posix.join(path.posix.dirname(name), id)) : nodeRequire(id));
    pieceRequire.resolve = nodeRequire.resolve;
    run.call(module.exports, module.exports, pieceRequire, module, executable, path.dirname(executable), importMetaUrl);
    return module.exports;
  };
  load(entry);
}

/**
 * @fastify/swagger-ui reads its static/ folder from disk (the logo with fs/promises, the rest
 * through @fastify/static), which a copied executable does not have. Inside that package both
 * are replaced by a module that reads those files from the pieces instead, one piece per file,
 * loaded on its first request.
 */
function swaggerUiFromMemory() {
  const pkg = realpathSync(dirname(fileURLToPath(import.meta.resolve('@fastify/swagger-ui/package.json'))));
  const files = readdirSync(join(pkg, 'static'));
  const table = files.map((f) => `  ${JSON.stringify(f)}: () => import(${JSON.stringify(f)}),`).join('\n');
  const shim = `// Generated by build.mjs (swaggerUiFromMemory).
import { basename, extname } from 'node:path';
const files = {
${table}
};
const TYPES = { '.js': 'application/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.json': 'application/json; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };
async function bytes(name) {
  const { default: content } = await files[name]();
  return typeof content === 'string' ? Buffer.from(content) : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}
/** In place of fs/promises: the one file swagger-ui reads itself, its logo. */
export async function readFile(path) {
  const name = basename(path);
  if (!Object.hasOwn(files, name)) throw Object.assign(new Error(\`ENOENT: \${path} is not embedded\`), { code: 'ENOENT' });
  return bytes(name);
}
/** In place of @fastify/static: serves the files under the prefix it is registered with. */
export default function serveFiles(fastify, _options, done) {
  fastify.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const name = request.params['*'];
    if (!Object.hasOwn(files, name)) return reply.callNotFound();
    return reply.type(TYPES[extname(name)] ?? 'application/octet-stream').send(await bytes(name));
  });
  done();
}
`;
  return {
    name: 'swagger-ui-from-memory',
    setup(b) {
      b.onResolve({ filter: /^(@fastify\/static|node:fs\/promises)$/ }, (args) =>
        args.importer.startsWith(pkg) ? { path: 'static', namespace: 'swagger-ui' } : undefined,
      );
      b.onLoad({ filter: /^static$/, namespace: 'swagger-ui' }, () => ({ contents: shim, loader: 'js', resolveDir: pkg }));
      b.onResolve({ filter: /.*/, namespace: 'swagger-ui' }, (args) =>
        files.includes(args.path) ? { path: join(pkg, 'static', args.path), namespace: 'swagger-ui-file' } : undefined,
      );
      // Text as text (a third smaller than the base64 of the binary loader), images as bytes.
      b.onLoad({ filter: /.*/, namespace: 'swagger-ui-file' }, (args) => ({ contents: readFileSync(args.path), loader: args.path.endsWith('.png') ? 'binary' : 'text' }));
    },
  };
}
