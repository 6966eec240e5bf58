# syntax=docker/dockerfile:1
# ai-gateway container image. GKE Autopilot's default nodes are x86: from an Apple-silicon
# (arm64) machine build with `docker build --platform linux/amd64 -t ai-gateway .`.
# The stages run the same npm scripts as the tests
# (`npm ci`, `npm run build`, `npm ci --omit=dev`); test/deploy/production-start.test.ts
# runs this file's runtime stage (its ENV, CMD and HEALTHCHECK) outside Docker.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compiles TypeScript with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# .npmrc: onnxruntime-node (a dev dependency: the optional MiniLM embedder, not in this image) must
# not fetch CUDA binaries in its install script.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# Production dependencies only, in their own layer: it changes only with the lockfile.
# Packages that ship model weights (the semantic cache's embedder) land here, so the
# container never downloads anything at start.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's helpers, libuv's pool) its
# own malloc arena, most of it idle; two arenas hold the same memory in ~14 MiB less RSS
# under load (BENCHMARKS.md, "Stalls and memory").
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    GATEWAY_CONFIG=/app/config/gateway.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The gateway bundled into one file and its launcher (apps/gateway/scripts/bundle.ts); dist/libs
# for the local embedders' worker scripts, which run from their own files.
COPY --from=build /app/dist/gateway.js /app/dist/gateway.bundle.js ./dist/
COPY --from=build /app/dist/libs ./dist/libs
COPY package.json ./
COPY config ./config
# A numeric UID (not a name) lets Kubernetes' runAsNonRoot verify it. Nothing under
# /app is writable by it, so a read-only root filesystem changes nothing.
USER 10001:10001
# 3000: the API (PORT). 9464: /metrics and /admin (METRICS_PORT), on 127.0.0.1 unless METRICS_HOST
# says otherwise (the chart and docker compose set 0.0.0.0 and keep it off public entry points).
EXPOSE 3000 9464
# Node, not curl: the slim image has no curl and the probe should not need a shell.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and receives SIGTERM directly: the gateway drains in-flight requests
# and streams for shutdownGraceMs (SHUTDOWN_GRACE_MS), then exits 0.
STOPSIGNAL SIGTERM
# A young generation of 2 x 4 MiB instead of V8's default 2 x 32 MiB on a large host: ~90 MiB less
# RSS under load, the same CPU per request (BENCHMARKS.md, "Memory"). Old space grows by half its live
# size between mark-compacts instead of up to 4x as V8 decides: RSS at c=64 held at 135-142 MiB where it
# settled anywhere from 130 to 205 MiB (BENCHMARKS.md, "Stalls and memory"). Same as npm run start:prod.
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "dist/gateway.js"]
