import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/** Where Swagger UI (HTML, scripts, styles) and the OpenAPI document are served. */
const DOCUMENTATION_PREFIX = '/docs';

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
});

/**
 * Security headers on every response, from helmet. The middlewares are built once here (the
 * Fastify plugin builds one per request) and run in one synchronous onRequest hook.
 */
export function useSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const headers = request.url.startsWith(DOCUMENTATION_PREFIX)
      ? documentationHeaders
      : apiHeaders;
    // helmet throws instead of passing errors to its callback.
    headers(request.raw, reply.raw, () => done());
  });
}
