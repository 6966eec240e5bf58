import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { ConfigError, configSecrets, configWarnings, loadConfig } from '@gateway/config';
import { MetricsService, TracingService } from '@gateway/metrics';
import { RedisService } from '@gateway/redis';
import { Stopping, UsageShares } from '@gateway/router';
import { AdminGuard, AdmissionService, ApiAuth, KeyConcurrency } from '@gateway/security';
import { AppModule } from './app.module';
import { closeConnectionsWhileDraining, drainOnSignals } from './health/drain';
import { ShutdownState } from './health/shutdown-state';
import { UnusedConnections } from './health/unused-connections';
import { BodyRedactor } from './http/body-redaction';
import { clientErrorHandler, frameworkErrors } from './http/client-error';
import { configureFastify, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './http/fastify-setup';
import { OpsPlane } from './http/ops-plane';
import { requestId } from './http/request-hooks';
import { precompiledValidators } from './http/request-validation';
import { createLoggers } from './logger';
import { exitForConfig, listenOrExit } from './startup-exit';
import { keepServingOnUnhandledRejections } from './unhandled-rejections';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    exitForConfig(err.message);
  }
  const { app: log, access } = createLoggers(config);
  const server = config.server;

  const adapter = new FastifyAdapter({
    bodyLimit: server.bodyLimitBytes,
    genReqId: requestId,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // A request that arrives during the drain on a connection that was already open
    // (a load balancer's keep-alive) is served, answered with `Connection: close`, rather
    // than refused with Fastify's non-OpenAI 503 that the client would see as an error.
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors,
    // Request bodies are checked by validators compiled at build time (request-validation.ts).
    schemaController: precompiledValidators(),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, log), adapter, {
    bufferLogs: true,
    // Our own JSON parser is registered in configureFastify.
    bodyParser: false,
  });
  app.useLogger(app.get(PinoNestLogger));
  const metrics = app.get(MetricsService);

  const fastify = app.getHttpAdapter().getInstance();
  configureFastify(
    fastify,
    {
      metrics,
      tracing: app.get(TracingService),
      log: access,
      bodies: server.logBodies ? new BodyRedactor(server.redactPatterns, configSecrets(config)) : undefined,
      admission: app.get(AdmissionService),
      concurrency: app.get(KeyConcurrency),
      usageShares: app.get(UsageShares),
      shutdown: app.get(ShutdownState),
    },
    { api: app.get(ApiAuth), admin: app.get(AdminGuard) },
    config.security.maxJsonDepth,
  );
  closeConnectionsWhileDraining(fastify, app.get(ShutdownState));
  // DELETE: a stored response's (the library's default is GET, HEAD, POST). Every answer header readable by the page
  // (`*`, as no request is credentialed: keys go in a header): its request id, cost, cache and rate-limit headers.
  if (config.security.corsOrigins.length)
    app.enableCors({ origin: config.security.corsOrigins, methods: ['GET', 'HEAD', 'POST', 'DELETE'], exposedHeaders: '*' });
  const ops = new OpsPlane(fastify, {
    keepAliveTimeout: server.keepAliveTimeoutMs,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
  });
  const unused = new UnusedConnections(fastify.server, HEADERS_TIMEOUT_MS);

  // Not app.listen: it logs a listen error as an error line of its own before rejecting, so a
  // port already taken printed a JSON error after listenOrExit's one documented line.
  await app.init();
  // REDIS_CLUSTER not matching the Redis REDIS_URL names, when Redis answered by now (else /ready reports it later).
  const clusterMismatch = app.get(RedisService).clusterMismatch;
  if (clusterMismatch) exitForConfig(clusterMismatch);
  await listenOrExit(() => fastify.listen({ port: server.port, host: server.host }), server.port, server.host, 'PORT (or HOST)');
  const metricsPort = await listenOrExit(
    () => ops.listen(server.metricsPort, server.metricsHost),
    server.metricsPort,
    server.metricsHost,
    'METRICS_PORT (or METRICS_HOST)',
  );
  const { port } = fastify.server.address() as AddressInfo;
  log.info(
    { port, host: server.host, metricsPort, metricsHost: server.metricsHost, auth: config.masterKey ? 'on' : 'off' },
    'ai-gateway listening',
  );
  // Once serving: a start-up that fails still ends the process, as before.
  keepServingOnUnhandledRejections(log, () => metrics.recordUnhandledRejection());
  // Rules this release added, on a config the last one ran with: a warning, so an upgrade does not stop here.
  for (const warning of configWarnings(config)) log.warn(`config: ${warning}`);
  if (!config.masterKey) log.warn('auth is off: GATEWAY_MASTER_KEY is not set, so every request is anonymous (loopback only)');

  drainOnSignals({
    state: app.get(ShutdownState),
    // Access lines still waiting for a charge first: the app's close ends the stores that charge writes to.
    close: () =>
      app
        .get(ShutdownState)
        .linesWritten()
        .then(() => app.close()),
    server: fastify.server,
    ops: ops.server,
    unused,
    delayMs: server.shutdownDelayMs,
    graceMs: server.shutdownGraceMs,
    scrapeMs: server.shutdownScrapeMs,
    stopAt: (at) => app.get(Stopping).stopAt(at),
    log,
    exit: () => {
      log.info('stopped');
      process.exit(0);
    },
  });
}

void bootstrap();
