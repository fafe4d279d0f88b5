import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';

/** Where Swagger UI (HTML, scripts, styles) and the OpenAPI document are served. */
const DOCUMENTATION = /^\/docs(?:[/?]|$)/;

/**
 * JSON responses get the headers that matter for an API (OWASP REST Security Cheat Sheet): no
 * content may load or run if a response is ever rendered (CSP `default-src 'none'`), no framing,
 * no MIME sniffing, HTTPS only. helmet's other headers only concern HTML documents; each one is a
 * header Node validates and writes, and a client parses, on every response of the hot path.
 */
const apiHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/**
 * Swagger UI is an HTML page: helmet's full set, with a CSP that lets its own scripts and styles
 * run. upgrade-insecure-requests is off, or a plain-http development server could not serve them.
 */
const documentationHeaders = helmet({
  contentSecurityPolicy: {
    directives: { frameAncestors: ["'none'"], upgradeInsecureRequests: null },
  },
  xFrameOptions: { action: 'deny' },
});

/** Sets the security headers a response to `request` carries. */
export function applySecurityHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  done: (error?: Error) => void = () => undefined,
): void {
  const headers = DOCUMENTATION.test(request.url) ? documentationHeaders : apiHeaders;
  headers(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
}

/**
 * Security headers on every response, from helmet. The middlewares are built once here (the
 * Fastify plugin builds one per request) and run in one synchronous onRequest hook. Errors raised
 * before routing skip the hooks; their handler calls applySecurityHeaders itself.
 */
export function useSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) =>
    applySecurityHeaders(request, reply, done),
  );
}
