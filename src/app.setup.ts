import { randomUUID } from 'node:crypto';
import type { ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { AppModule } from './app.module';
import { trustedProxies } from './common/client-info';
import { ApiException } from './common/errors/api-exception';
import { MALFORMED_URL } from './common/errors/error-codes';
import {
  clientErrorHandler,
  connectNotFound,
  expectationFailed,
} from './common/errors/client-errors';
import { HTTP_TIMEOUTS } from './common/http/http-timeouts';
import { useStrictJsonBodies } from './common/http/json-body';
import { applySecurityHeaders } from './common/http/security-headers';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { HttpLogController } from './common/logging/http-log-controller';
import { LazyChildLogger } from './common/logging/lazy-child-logger';
import { createLogger } from './common/logging/logger';
import { PinoNestLogger } from './common/logging/pino-nest-logger';
import { createValidationPipe } from './common/validation/validation.pipe';
import type { AppConfig } from './config/app-config';
import { GracefulShutdown } from './health/graceful-shutdown';
import { Metrics } from './health/metrics.service';
import { setUpOpenApi } from './openapi';

const CONNECTIONS_CHECKING_INTERVAL_MS = 500;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface CreateAppOptions {
  /** Defaults to a logger at the configured level writing to stdout. */
  logger?: Logger;
  /** Extra modules mounted beside the application (tests add probe routes). */
  imports?: ModuleMetadata['imports'];
  /**
   * Handle SIGTERM/SIGINT (drain, close the pool, stop the database). Enabled before the
   * application starts, so a signal during start-up (migrations, seeding) is handled too.
   */
  shutdownHooks?: boolean;
  /** Shorter HTTP timeouts, for tests of slow clients; production uses HTTP_TIMEOUTS. */
  httpTimeouts?: Partial<Record<keyof typeof HTTP_TIMEOUTS, number>>;
}

/** The request id, and no caching: responses carry tokens, keys and personal data (unless a
 * route allows caching, as the JWKS does). */
function setResponseHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}

/**
 * Creates the application exactly as it runs in production: main.ts and every e2e test come
 * through here, so what is tested is what is served.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const timeouts = { ...HTTP_TIMEOUTS, ...options.httpTimeouts };
  const problems = new ProblemDetailsFilter();
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    logController: new HttpLogController(),
    childLoggerFactory: (parent: unknown, bindings: Bindings, options: ChildLoggerOptions) =>
      new LazyChildLogger(parent as Logger, bindings, options) as never,
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy.length ? trustedProxies(config.http.trustProxy) : false,
    requestTimeout: timeouts.requestMs,
    // Node checks the header and request timeouts only this often (30 s by default, which would
    // let a slow client hold a socket three times longer than headersMs).
    // A missing Host is refused by the hook below, as problem+json (Node's own 400 is bare).
    http: {
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
      requireHostHeader: false,
    },
    keepAliveTimeout: timeouts.keepAliveMs,
    forceCloseConnections: 'idle',
    // While draining, requests on open connections are still served (with Connection: close)
    // rather than answered with Fastify's non-problem+json 503.
    return503OnClosing: false,
    // Accept a caller's X-Request-Id when it is a plain token, so logs can be correlated.
    requestIdHeader: false,
    // Errors raised before routing (a malformed URL) and by Node's parser, as problem+json too.
    // No hook runs for them, so they get the hooks' headers here.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      applySecurityHeaders(request, reply);
      setResponseHeaders(request, reply);
      problems.catchReply(error, reply);
    },
    clientErrorHandler,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options.imports),
    adapter,
    {
      logger: new PinoNestLogger(logger),
      bodyParser: false,
    },
  );
  if (options.shutdownHooks) app.enableShutdownHooks();
  configureApp(app, config, problems, timeouts);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

function configureApp(
  app: NestFastifyApplication,
  config: AppConfig,
  problems: ProblemDetailsFilter,
  timeouts: Record<keyof typeof HTTP_TIMEOUTS, number>,
): void {
  const fastify = app.getHttpAdapter().getInstance();
  useStrictJsonBodies(fastify);
  fastify.addHook('onRequest', (request, _reply, done) => {
    const { headers } = request;
    // Compressed bodies are not accepted, so a small request cannot inflate into a large one.
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      done(
        new ApiException('unsupported_media_type', {
          detail: 'Compressed request bodies (Content-Encoding) are not accepted',
        }),
      );
      return;
    }
    // RFC 9112: an HTTP/1.1 request without Host is a 400.
    if (headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(new ApiException('validation_failed', { detail: 'The Host header is missing' }));
      return;
    }
    // A query string must decode, as a path must (FST_ERR_BAD_URL): the query parser would keep
    // a malformed escape as text and read escapes that are not UTF-8 loosely.
    if (!queryDecodes(request.raw.url)) {
      done(new ApiException('validation_failed', { detail: MALFORMED_URL }));
      return;
    }
    done();
  });
  fastify.server.on('checkExpectation', expectationFailed);
  fastify.server.on('connect', connectNotFound);

  // Once a shutdown begins, responses ask the client to close: a keep-alive client moves to
  // another instance during the shutdown delay, and Node's server.close() reaps only the
  // connections idle at that moment, so one whose request was in flight would otherwise stay open
  // until its timeout (65 s) and hold up the shutdown.
  const shutdown = app.get(GracefulShutdown);
  // On every response Fastify sends, in onSend: also those a hook answers before the others run
  // (a CORS preflight, answered by @fastify/cors's request hook, which Nest puts first).
  fastify.addHook('onSend', (request, reply, payload, done) => {
    applySecurityHeaders(request, reply);
    setResponseHeaders(request, reply);
    if (shutdown.draining) reply.header('connection', 'close');
    done(null, payload);
  });

  const metrics = app.get(Metrics);
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL, keeps label values few; unknown URLs share one.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  // Browsers on these exact origins (never "*") may call the API, with credentials.
  if (config.http.corsOrigins.length) {
    app.enableCors({
      origin: [...config.http.corsOrigins],
      credentials: true,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate'],
      maxAge: 600,
      // An OPTIONS without a preflight's headers is answered as a preflight (204), where the
      // plugin's strict mode answers a bare text/plain 400.
      strictPreflight: false,
    });
  }

  app.useGlobalFilters(problems);
  app.useGlobalPipes(createValidationPipe());
  setUpOpenApi(app);

  const server = app.getHttpServer();
  server.headersTimeout = timeouts.headersMs;
}

/** Whether the URL's query string, if any, is well-formed percent-encoded UTF-8. */
function queryDecodes(url = ''): boolean {
  const start = url.indexOf('?');
  if (start === -1 || !url.includes('%', start)) return true;
  try {
    decodeURIComponent(url.slice(start + 1));
    return true;
  } catch {
    return false;
  }
}
