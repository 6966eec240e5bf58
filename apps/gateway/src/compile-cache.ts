import { enableCompileCache } from 'node:module';

// Most of a start is V8 compiling the ~1,700 module files of Nest, Fastify, the SDKs and
// ours. With the on-disk code cache (under the temp dir) the next start in the same place
// skips that: a restarted container in the same pod (the chart's /tmp is an emptyDir), a
// laptop's next `npm start`. Imported first by main.ts so it covers every later require.
// A directory that cannot be written disables it silently.
enableCompileCache();
