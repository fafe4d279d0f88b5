import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { createTestApp, type TestApp } from '../support/test-app';
import { INTERNAL_DETAIL, ProbeModule } from './probe.module';

const PROBLEM_JSON = /^application\/problem\+json/;

describe('HTTP shell every route inherits', () => {
  let t: TestApp;
  let logs: CapturedLogs;

  beforeAll(async () => {
    logs = captureLogs('info');
    t = await createTestApp({}, { imports: [ProbeModule], logger: logs.logger });
  });
  afterAll(() => t.close());

  const echo = (payload: string, contentType = 'application/json') =>
    t.request({
      method: 'POST',
      url: '/probe/echo',
      headers: { 'content-type': contentType },
      payload,
    });

  function expectProblem(
    res: { statusCode: number; headers: Record<string, unknown>; json(): any },
    status: number,
    code: string,
  ) {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    const body = res.json();
    expect(body).toMatchObject({ type: `urn:auth-service:problem:${code}`, status, code });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    return body;
  }

  it('accepts a valid body and returns it', async () => {
    const res = await echo(JSON.stringify({ name: 'a', count: 2 }));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ name: 'a', count: 2 });
  });

  it('answers a body that is not JSON with 400 validation_failed, listing the body itself', async () => {
    const body = expectProblem(await echo('{"name": "a",'), 400, 'validation_failed');
    expect(body.detail).toMatch(/not valid JSON/);
    expect(body.errors).toEqual([{ field: '', message: expect.stringMatching(/not valid JSON/) }]);
  });

  it('lists the body itself for a duplicated key too: every validation_failed has errors', async () => {
    const body = expectProblem(
      await echo('{"name":"a","name":"b","count":1}'),
      400,
      'validation_failed',
    );
    expect(body.errors).toEqual([{ field: '', message: expect.stringMatching(/"name"/) }]);
  });

  it('takes an empty body with Content-Type: application/json as no body', async () => {
    // A route that needs one says so as for any missing body...
    const body = expectProblem(await echo(''), 400, 'validation_failed');
    expect(body.errors).toEqual([{ field: '', message: expect.any(String) }]);
    // ...and one that takes none is not refused for a header many clients always send.
    const res = await t.request({
      method: 'POST',
      url: '/probe/no-body',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(204);
  });

  it('still refuses a body of only whitespace as not JSON', async () => {
    expectProblem(await echo('  '), 400, 'validation_failed');
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"name"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('answers %s instead of an object with 400 validation_failed', async (_what, payload) => {
    const body = expectProblem(await echo(payload), 400, 'validation_failed');
    expect(body.errors).toEqual([{ field: '', message: expect.any(String) }]);
  });

  it('lists wrong-typed, missing and unknown fields', async () => {
    const body = expectProblem(
      await echo(JSON.stringify({ count: 'two', tags: ['x', 3], isAdmin: true, extra: 1 })),
      400,
      'validation_failed',
    );
    const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['count', 'extra', 'isAdmin', 'name', 'tags.1']);
  });

  it('refuses prototype-pollution keys with 400', async () => {
    expectProblem(
      await echo('{"name":"a","count":1,"__proto__":{"isAdmin":true}}'),
      400,
      'validation_failed',
    );
    expectProblem(
      await echo('{"name":"a","count":1,"constructor":{"prototype":{"x":1}}}'),
      400,
      'validation_failed',
    );
  });

  it('answers a body over 64 KiB with 413 payload_too_large', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(64 * 1024), count: 1 });
    expectProblem(await echo(big), 413, 'payload_too_large');
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
    'answers a %s body with 415 unsupported_media_type',
    async (contentType) => {
      expectProblem(await echo('name=a&count=1', contentType), 415, 'unsupported_media_type');
    },
  );

  it('answers 413 and 415 where a route takes no body too, and 415 to a compressed GET (as documented)', async () => {
    // The service's own routes: logout-all takes no body, /health/live reads none.
    const bodyless = (payload: string, contentType: string) =>
      t.request({
        method: 'POST',
        url: '/auth/logout-all',
        headers: { 'content-type': contentType },
        payload,
      });
    expectProblem(
      await bodyless(JSON.stringify({ pad: 'x'.repeat(64 * 1024) }), 'application/json'),
      413,
      'payload_too_large',
    );
    expectProblem(await bodyless('a=1', 'text/plain'), 415, 'unsupported_media_type');
    const compressed = await t.request({
      method: 'GET',
      url: '/health/live',
      headers: { 'content-encoding': 'gzip' },
    });
    expectProblem(compressed, 415, 'unsupported_media_type');
  });

  it('answers an unexpected exception with a bare 500, logged once with its stack', async () => {
    const before = logs.lines().length;
    const res = await t.request({ method: 'GET', url: '/probe/boom' });
    const body = expectProblem(res, 500, 'internal_error');
    expect(JSON.stringify(body)).not.toContain('password_hash');
    expect(res.body).not.toMatch(/at \w+ \(|\.ts:\d+/);
    const errors = logs
      .lines()
      .slice(before)
      .filter((line) => typeof line.msg === 'string' && line.msg.includes(INTERNAL_DETAIL));
    expect(errors).toHaveLength(1);
    expect(String(errors[0].msg)).toMatch(/at .*probe\.module/);
  });

  it('answers a malformed URL with 400 problem+json, with the headers every response has', async () => {
    const res = await t.request({ method: 'GET', url: '/%' });
    expectProblem(res, 400, 'validation_failed');
    // Fastify runs no hook for errors raised before routing.
    expect(res.headers).toMatchObject({
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'x-request-id': expect.any(String),
    });
  });

  it('answers an unknown route with 404 not_found', async () => {
    const body = expectProblem(
      await t.request({ method: 'GET', url: '/no/such/route' }),
      404,
      'not_found',
    );
    expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
  });

  it('gives every response a request id, keeping a well-formed one from the caller', async () => {
    const mine = await t.request({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'trace-123' },
    });
    expect(mine.headers['x-request-id']).toBe('trace-123');
    const hostile = await t.request({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'a"}{\\' },
    });
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one JSON line per request with its request id, and no credentials', async () => {
    const secret = 'Bearer super-secret-access-token-value';
    await t.request({
      method: 'GET',
      url: '/.well-known/jwks.json',
      headers: {
        authorization: secret,
        'x-request-id': 'log-check-1',
        'x-api-key': 'ak_secret_key_value',
      },
    });
    const lines = logs.lines().filter((line) => line.reqId === 'log-check-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request completed', res: { statusCode: 200 } });
    expect(logs.text()).not.toContain('super-secret-access-token-value');
    expect(logs.text()).not.toContain('ak_secret_key_value');
  });

  it('logs the names of query parameters but never their values', async () => {
    await t.request({
      method: 'GET',
      url: '/reset-password?token=reset-token-value&access_token=jwt-value&flag',
      headers: { 'x-request-id': 'log-check-query' },
    });
    const [line] = logs.lines().filter((entry) => entry.reqId === 'log-check-query');
    expect(line).toMatchObject({
      req: { url: '/reset-password?token=[redacted]&access_token=[redacted]&flag=[redacted]' },
    });
    expect(logs.text()).not.toMatch(/reset-token-value|jwt-value/);
  });

  it('sends security headers, and no-store unless a route allows caching', async () => {
    const live = await t.request({ method: 'GET', url: '/health/live' });
    expect(live.headers).toMatchObject({
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'strict-transport-security': expect.stringContaining('max-age='),
      'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
    });
    expect(live.headers).toMatchObject({
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'x-frame-options': 'DENY',
    });
    // HTML-only headers are left off API responses (each one costs on every response).
    expect(live.headers['x-dns-prefetch-control']).toBeUndefined();
    // Swagger UI's page gets helmet's full set, with a CSP that lets its own scripts run over
    // plain http.
    const ui = await t.request({ method: 'GET', url: '/docs' });
    expect(ui.headers).toMatchObject({
      'content-security-policy': expect.stringContaining("script-src 'self'"),
      'x-dns-prefetch-control': 'off',
      'x-content-type-options': 'nosniff',
    });
    expect(ui.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(ui.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(ui.headers['x-frame-options']).toBe('DENY');
    // Only /docs and below: a look-alike path gets the API's strict policy.
    const lookalike = await t.request({ method: 'GET', url: '/docsx' });
    expect(lookalike.headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
    const problem = await t.request({ method: 'GET', url: '/nowhere' });
    expect(problem.headers['cache-control']).toBe('no-store');
    const jwks = await t.request({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.headers['cache-control']).toBe('public, max-age=300');
  });

  it('serves Swagger UI at /docs and the OpenAPI document at /docs/json', async () => {
    const ui = await t.request({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    const doc = (await t.request({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready']),
    );
  });

  it('bounds how long a client may take to send headers and a request', () => {
    const server = t.app.getHttpServer();
    expect(server.headersTimeout).toBeGreaterThan(0);
    expect(server.headersTimeout).toBeLessThanOrEqual(10_000);
    expect(server.requestTimeout).toBeGreaterThan(0);
    expect(server.requestTimeout).toBeLessThanOrEqual(15_000);
  });
});

describe('errors before a request exists', () => {
  /** What the server answers `request` on a raw socket, until it closes the connection. */
  async function rawExchange(request: string): Promise<string> {
    const t = await createTestApp();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(request));
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
    } finally {
      await t.close();
    }
  }
  const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

  it('answers headers over 16 KiB with 431 problem+json and closes the connection', async () => {
    const raw = await rawExchange(
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/i);
    expect(raw).toMatch(/Cache-Control: no-store/i);
    expect(raw).toMatch(/X-Content-Type-Options: nosniff/i);
    expect(bodyOf(raw)).toMatchObject({ status: 431, code: 'payload_too_large' });
  });

  it('answers an HTTP/1.1 request without Host with 400 problem+json (HTTP/1.0 needs none)', async () => {
    const raw = await rawExchange('GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/i);
    expect(bodyOf(raw)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(bodyOf(raw).detail).toMatch(/Host/);
    expect(await rawExchange('GET /health/live HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers an Expect other than 100-continue with 417 problem+json and closes the connection', async () => {
    const raw = await rawExchange(
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n' +
        'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 417 /);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/i);
    expect(raw).toMatch(/Cache-Control: no-store/i);
    expect(bodyOf(raw)).toMatchObject({ status: 417, code: 'validation_failed' });
  });

  it('answers CONNECT with 404 problem+json, as any unknown route, and closes the connection', async () => {
    const raw = await rawExchange(
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 404 /);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/i);
    expect(raw).toMatch(/Connection: close/i);
    expect(bodyOf(raw)).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('takes a client that leaves mid-body for what it is, not for a database failure', async () => {
    const logs = captureLogs('info');
    const t = await createTestApp({}, { imports: [ProbeModule], logger: logs.logger });
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /probe/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: left-early\r\n' +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      // The body's reader fails when the socket closes; nothing can be answered to it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(logs.lines().filter((line) => line.reqId === 'left-early')).toEqual([]);
      expect(logs.text()).not.toContain('Database unavailable');
    } finally {
      await t.close();
    }
  });

  it('answers bytes that are not HTTP with 400 validation_failed, listing the request itself', async () => {
    const raw = await rawExchange('HELLO THERE\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    // Written by hand on the socket, with the security headers every answer carries.
    expect(raw).toMatch(
      /\r\ncontent-security-policy: default-src 'none';frame-ancestors 'none'\r\n/i,
    );
    expect(raw).toMatch(/\r\nx-frame-options: DENY\r\n/i);
    expect(bodyOf(raw)).toEqual({
      type: 'urn:auth-service:problem:validation_failed',
      title: expect.any(String),
      status: 400,
      detail: 'The request is not valid HTTP',
      code: 'validation_failed',
      errors: [{ field: '', message: 'The request is not valid HTTP' }],
    });
  });
});

describe('CORS', () => {
  it('allows exactly the configured origins, with credentials, and no one else', async () => {
    const t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' });
    try {
      const preflight = (origin: string) =>
        t.request({
          method: 'OPTIONS',
          url: '/auth/login',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type',
          },
        });
      const allowed = await preflight('https://app.example.com');
      expect(allowed.statusCode).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      // A preflight is answered before the other request hooks run: it still gets every header.
      expect(allowed.headers).toMatchObject({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-frame-options': 'DENY',
        'strict-transport-security': expect.stringContaining('max-age='),
        'cache-control': 'no-store',
      });
      // And the CORS headers stay on answers refused before any route runs (a body that is not
      // JSON), so a browser's script can read why.
      const notJson = await t.request({
        method: 'POST',
        url: '/auth/login',
        payload: '{not json',
        headers: { origin: 'https://app.example.com', 'content-type': 'application/json' },
      });
      expect(notJson.statusCode).toBe(400);
      expect(notJson.headers['access-control-allow-origin']).toBe('https://app.example.com');
      const other = await preflight('https://evil.example.com');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      const simple = await t.request({
        method: 'GET',
        url: '/health/live',
        headers: { origin: 'https://evil.example.com' },
      });
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
      // What a browser's script may read of an answer: the request id, and why it was refused.
      const refused = await t.request({
        method: 'GET',
        url: '/users/me',
        headers: { origin: 'https://app.example.com' },
      });
      expect(refused.statusCode).toBe(401);
      // An OPTIONS that is no preflight is not an error either (the plugin's strict mode answered
      // a bare text/plain 400).
      const plain = await t.request({ method: 'OPTIONS', url: '/users/me' });
      expect(plain.statusCode).toBe(204);
      expect(String(refused.headers['access-control-expose-headers']).split(/,\s*/).sort()).toEqual(
        ['retry-after', 'www-authenticate', 'x-request-id'],
      );
    } finally {
      await t.close();
    }
  });
});

describe('request log levels', () => {
  it('logs a successful health probe at debug, so probes do not bury requests at info', async () => {
    const logs = captureLogs('debug');
    const t = await createTestApp({}, { logger: logs.logger });
    try {
      const probe = (url: string, id: string) =>
        t.request({ method: 'GET', url, headers: { 'x-request-id': id } });
      await probe('/health/live', 'live');
      await probe('/health/ready', 'ready');
      await probe('/health/nope', 'unknown');
      await probe('/.well-known/jwks.json', 'jwks');
      const levels = (id: string) =>
        logs
          .lines()
          .filter((line) => line.reqId === id && line.msg === 'request completed')
          .map((line) => line.level);
      const [debug, info] = [20, 30];
      expect(levels('live')).toEqual([debug]);
      expect(levels('ready')).toEqual([debug]);
      expect(levels('unknown')).toEqual([info]);
      expect(levels('jwks')).toEqual([info]);
    } finally {
      await t.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish when the application closes, and reports not ready meanwhile', async () => {
    const t = await createTestApp({}, { imports: [ProbeModule] });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const inFlight = new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ port, host: '127.0.0.1', path: '/probe/slow' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // A readiness probe begun before the close (so its connection is not idle) and completed
    // during it: a load balancer still probing a draining instance learns that it is going.
    const probe = connect(port, '127.0.0.1');
    let probeAnswer = '';
    probe.on('data', (chunk: Buffer) => (probeAnswer += chunk.toString()));
    const probeClosed = new Promise((resolve) => probe.on('close', resolve));
    probe.write('GET /health/ready HTTP/1.1\r\nHost: localhost\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = t.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    probe.write('\r\n');
    await probeClosed;
    expect(probeAnswer).toMatch(/^HTTP\/1\.1 503 /);
    expect(probeAnswer).toMatch(/\r\nconnection: close\r\n/i);
    expect(probeAnswer).toContain('"code":"service_unavailable"');
    await closing;
    await expect(inFlight).resolves.toEqual({ status: 200, body: '{"done":true}' });
  });
});
