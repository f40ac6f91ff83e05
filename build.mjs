// Bundles cmd/splashtail.ts into the single executable ./splashtail.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['cmd/splashtail.ts'],
  outfile: 'splashtail',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // ESM dependencies (e.g. @discordjs/ws) read import.meta.url, which a CommonJS bundle lacks.
  define: { 'import.meta.url': '__importMetaUrl' },
  sourcemap: 'linked',
  banner: { js: "#!/usr/bin/env node\nconst __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Optional native add-ons that discord.js/ws probe for; absent is fine.
  // @fastify/swagger-ui serves files from its own package folder, so it stays a normal dependency.
  external: ['@fastify/swagger-ui', 'zlib-sync', 'bufferutil', 'utf-8-validate', 'erlpack', '@discordjs/voice', 'pg-native', 'pino-pretty'],
  logLevel: 'warning',
});
chmodSync('splashtail', 0o755);
