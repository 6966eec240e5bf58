/**
 * `npm run build` step after tsc: bundles the compiled gateway (dist/apps/gateway/src/main.js)
 * into one file, dist/gateway.js, which `npm run start:prod` and the image run. A start then
 * reads one file instead of resolving, stat-ing and reading ~1,300 modules
 * (BENCHMARKS.md, "Start-up"). It bundles tsc's output, not the sources: esbuild does not
 * emit the decorator metadata Nest's dependency injection reads.
 *
 * Left outside the bundle, loaded from node_modules or dist/ as before:
 * - the vendor SDKs, required only when such a provider is enabled (providers.service.ts);
 * - Nest's and Fastify's optional packages that this gateway does not install: they fail to
 *   load as they did unbundled;
 * - the local embedders' worker loader, which finds its worker scripts beside itself.
 */
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';

const DIST = resolve(__dirname, '../../..');
const OUT = resolve(DIST, 'gateway.js');
const BESIDE_THEIR_FILES = [resolve(DIST, 'libs/cache/src/embedders/worker-embedder.js')];

void build({
  entryPoints: [resolve(DIST, 'apps/gateway/src/main.js')],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // Nest resolves some classes by name.
  keepNames: true,
  external: [
    '@anthropic-ai/sdk',
    '@google/genai',
    '@nestjs/microservices',
    '@nestjs/microservices/*',
    '@nestjs/websockets',
    '@nestjs/websockets/*',
    '@nestjs/platform-express',
    '@fastify/static',
    '@fastify/view',
    '@fastify/multipart',
  ],
  // Nest's ES modules load optional packages with createRequire(import.meta.url).
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      name: 'beside-their-files',
      setup(build) {
        build.onResolve({ filter: /worker-embedder/ }, (args) => {
          const path = resolve(args.resolveDir, args.path.endsWith('.js') ? args.path : `${args.path}.js`);
          if (!BESIDE_THEIR_FILES.includes(path)) return undefined;
          return { path: `./${relative(DIST, path)}`, external: true };
        });
      },
    },
  ],
  logLevel: 'warning',
});
