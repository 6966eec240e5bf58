import { enableCompileCache } from 'node:module';

// Most of a start is V8 compiling the ~1,700 module files of Nest, Fastify, the SDKs and
// ours. With the on-disk code cache the next start (a restarted container, a second replica
// on the same node, the image's warmed cache) skips that. Imported first by main.ts so it
// covers every later require. A directory that cannot be written disables it silently.
enableCompileCache();
