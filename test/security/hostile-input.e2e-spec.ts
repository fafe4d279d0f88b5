import { connect, type AddressInfo, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { PasswordHasher } from '../../src/auth/passwords/password-hasher';
import { bearer, newAccount, uniqueEmail } from '../support/auth';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Hostile input at the HTTP edge: each gets a fast 4xx (or, for slow clients, a closed socket),
 * changes nothing, and leaves the event loop and memory healthy.
 */
describe('hostile input', () => {
  let t: TestApp;
  let sent = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });

  beforeAll(async () => {
    t = await createTestApp({ IP_RATE_LIMIT_PER_MINUTE: '100000' });
    loopDelay.enable();
  });
  afterAll(async () => {
    loopDelay.disable();
    await t.close();
    process.stdout.write(`hostile input: ${sent} requests\n`);
  });

  const raw = async (url: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    sent++;
    const started = Date.now();
    const res = await t.request({
      method: 'POST',
      url,
      payload: body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { res, ms: Date.now() - started };
  };
  const expect4xx = async (
    url: string,
    body: string | Buffer,
    status: number,
    headers?: Record<string, string>,
  ) => {
    const { res, ms } = await raw(url, body, headers);
    expect([res.statusCode, res.headers['content-type']]).toEqual([
      status,
      expect.stringMatching(/^application\/problem\+json/),
    ]);
    expect(ms).toBeLessThan(500);
    return res;
  };

  it('refuses deeply nested JSON quickly', async () => {
    for (const depth of [33, 1_000, 30_000]) {
      const body = `{"email":${'['.repeat(depth)}${']'.repeat(depth)},"password":"x"}`;
      const res = await expect4xx('/auth/login', body, 400);
      expect(res.json()).toMatchObject({
        code: 'validation_failed',
        detail: 'The JSON is nested deeper than 32 levels',
      });
    }
  });

  it('refuses compressed bodies (a gzip bomb is never inflated)', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    for (const encoding of ['gzip', 'deflate', 'br', 'GZIP']) {
      const res = await expect4xx('/auth/login', bomb, 415, { 'content-encoding': encoding });
      expect(res.json().code).toBe('unsupported_media_type');
    }
  });

  it('refuses duplicate keys, whichever value a parser would pick', async () => {
    const email = uniqueEmail('dup');
    const res = await expect4xx(
      '/auth/signup',
      `{"email":"${email}","password":"long enough 1","password":"x"}`,
      400,
    );
    expect(res.json().detail).toMatch(/"password" more than once/);
    // The same value twice, in a body the schema would otherwise accept.
    const same = await expect4xx(
      '/auth/login',
      `{"email":"a@example.com","password":"same password","password":"same password"}`,
      400,
    );
    expect(same.json().detail).toMatch(/"password" more than once/);
    const nested = await expect4xx(
      '/auth/login',
      `{"email":"a@example.com","password":"p","nested":{"a":1,"a":2}}`,
      400,
    );
    expect(nested.json().detail).toMatch(/"a" more than once/);
    // Nothing was created.
    expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
  });

  it('refuses NUL bytes and lone surrogates in any string, and never stores them', async () => {
    const email = uniqueEmail('nul');
    for (const fullName of ['a\u0000b', 'lone \ud800 high', 'lone \udc00 low']) {
      const res = await expect4xx(
        '/auth/signup',
        JSON.stringify({ email, password: 'long enough 2', fullName }),
        400,
      );
      expect(res.json().errors).toEqual([
        { field: 'fullName', message: expect.stringMatching(/NUL|well-formed/) },
      ]);
    }
    await expect4xx(
      '/auth/login',
      JSON.stringify({ email: 'a\u0000@example.com', password: 'x' }),
      400,
    );
    const account = await newAccount(t, 'nul-profile');
    const patch = await t.request({
      method: 'PATCH',
      url: '/users/me',
      headers: { ...bearer(account.tokens.accessToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ fullName: 'x\u0000y' }),
    });
    expect(patch.statusCode).toBe(400);
    const query = await t.request({
      method: 'GET',
      url: '/users?search=%00',
      headers: bearer(account.tokens.accessToken),
    });
    expect(query.statusCode).toBeLessThan(500);
    expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
  });

  it('refuses a body that is not UTF-8 (400) and a charset other than UTF-8 (415), storing nothing', async () => {
    const email = uniqueEmail('latin1');
    const body = (fullName: string) =>
      JSON.stringify({ email, password: 'long enough 4', fullName });
    // "José" in ISO-8859-1: the é is the lone byte 0xE9, which UTF-8 would turn into U+FFFD.
    const latin1 = Buffer.from(body('Jos\u00e9'), 'latin1');
    const invalid = await expect4xx('/auth/signup', latin1, 400);
    expect(invalid.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '' }] });
    for (const charset of ['iso-8859-1', 'utf-16', '"latin1"']) {
      const res = await expect4xx('/auth/signup', latin1, 415, {
        'content-type': `application/json; charset=${charset}`,
      });
      expect(res.json().code).toBe('unsupported_media_type');
    }
    expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
    for (const parameters of [
      '; charset=utf-8',
      ';charset=UTF-8',
      '; charset="utf-8"',
      '; charset=utf8',
      '; charset=us-ascii',
      // A quoted value is one value: the charset inside it is not the body's.
      '; profile="a;charset=latin1"',
    ]) {
      const res = await t.request({
        method: 'POST',
        url: '/auth/login',
        payload: JSON.stringify({ email: uniqueEmail('charset'), password: 'x' }),
        headers: { 'content-type': `application/json${parameters}` },
      });
      expect([parameters, res.statusCode]).toEqual([parameters, 401]);
    }
  });

  it('refuses __proto__ and constructor.prototype keys, saying so', async () => {
    const proto = await expect4xx(
      '/auth/login',
      '{"__proto__":{"isSuperuser":true},"email":"a@example.com","password":"p"}',
      400,
    );
    const constructor = await expect4xx(
      '/auth/signup',
      '{"constructor":{"prototype":{"isSuperuser":true}},"email":"b@example.com","password":"long enough 3"}',
      400,
    );
    for (const res of [proto, constructor]) {
      expect(res.json()).toMatchObject({ code: 'validation_failed' });
      expect(res.json().detail).toMatch(/__proto__/);
    }
    const broken = await expect4xx('/auth/login', '{"__proto__":', 400);
    expect(broken.json().detail).toBe('The body is not valid JSON');
    expect(({} as Record<string, unknown>).isSuperuser).toBeUndefined();
  });

  it('refuses an email with a letter that lower-cases to ASCII (the Kelvin sign), creating nothing', async () => {
    const local = `kelvin-${Date.now()}`;
    const res = await expect4xx(
      '/auth/signup',
      JSON.stringify({ email: `\u212A${local.slice(1)}@example.com`, password: 'long enough 3' }),
      400,
    );
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: 'email' }] });
    expect(await t.db.query('SELECT 1 FROM users WHERE email LIKE $1', [`%${local}%`])).toEqual([]);
  });

  it('takes emails and passwords up to their limits and refuses them beyond, before any hashing', async () => {
    const hasher = t.app.get(PasswordHasher);
    const hash = jest.spyOn(hasher, 'hash');
    const verify = jest.spyOn(hasher, 'verify');
    try {
      const local = 'a'.repeat(64);
      const longEmail = `${local}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(50)}.com`;
      expect(longEmail.length).toBeLessThanOrEqual(254);
      const ok = await raw(
        '/auth/signup',
        JSON.stringify({ email: longEmail, password: 'p'.repeat(128) }),
      );
      expect(ok.res.statusCode).toBe(201);
      hash.mockClear();
      verify.mockClear();

      await expect4xx(
        '/auth/signup',
        JSON.stringify({ email: `${'a'.repeat(250)}@b.co`, password: 'long enough 4' }),
        400,
      );
      await expect4xx(
        '/auth/signup',
        JSON.stringify({ email: uniqueEmail(), password: 'p'.repeat(129) }),
        400,
      );
      await expect4xx(
        '/auth/signup',
        JSON.stringify({ email: uniqueEmail(), password: 'short' }),
        400,
      );
      await expect4xx(
        '/auth/login',
        JSON.stringify({ email: uniqueEmail(), password: 'p'.repeat(60_000) }),
        400,
      );
      await expect4xx(
        '/auth/login',
        JSON.stringify({ email: uniqueEmail(), password: 'p'.repeat(1024 * 1024) }),
        413,
      );
      expect(hash).not.toHaveBeenCalled();
      expect(verify).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
      verify.mockRestore();
    }
  });

  it('answers huge and repeated headers with a 4xx or as if they were not there', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 500; i++) many[`x-junk-${i}`] = 'y';
    const res = await t.request({ method: 'GET', url: '/health/live', headers: many });
    expect(res.statusCode).toBe(200);
    const keys = await t.request({
      method: 'GET',
      url: '/users/me',
      headers: { 'x-api-key': ['ak_a', 'ak_b'] as unknown as string },
    });
    expect(keys.statusCode).toBe(401);
  });

  it('keeps the event loop responsive and memory bounded through all of it', () => {
    expect(loopDelay.max / 1e6).toBeLessThan(1_000);
    expect(process.memoryUsage().heapUsed).toBeLessThan(1.5 * 1024 ** 3);
  });
});

describe('slow clients', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    // The production limits are 10 s for headers and 15 s for a request (asserted in
    // test/http); here they are shortened so the test is quick.
    t = await createTestApp({}, { httpTimeouts: { headersMs: 1_000, requestMs: 1_500 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  /** Opens a connection, writes `first`, then dribbles a byte every 200 ms; resolves when closed. */
  const dribble = (first: string) =>
    new Promise<{ ms: number; received: string }>((resolve, reject) => {
      const started = Date.now();
      let received = '';
      const socket: Socket = connect(port, '127.0.0.1', () => socket.write(first));
      const timer = setInterval(() => socket.writable && socket.write('a'), 200);
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ ms: Date.now() - started, received });
      });
      socket.on('error', () => undefined);
      setTimeout(() => reject(new Error('the server kept a slow client')), 10_000);
    });

  it('closes a connection whose headers never end (slowloris)', async () => {
    const { ms, received } = await dribble('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(ms).toBeLessThan(5_000);
    expect(received === '' || /^HTTP\/1\.1 408/.test(received)).toBe(true);
  });

  it('closes a connection whose body never ends', async () => {
    const { ms, received } = await dribble(
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":"',
    );
    expect(ms).toBeLessThan(5_000);
    expect(ms).toBeGreaterThan(1_000);
    expect(received === '' || /^HTTP\/1\.1 4\d\d/.test(received)).toBe(true);
  });

  /** Writes a raw request and resolves with everything received until the server closes. */
  const exchange = (raw: string) =>
    new Promise<string>((resolve, reject) => {
      let received = '';
      const socket: Socket = connect(port, '127.0.0.1', () => socket.end(raw));
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
      setTimeout(() => reject(new Error('no answer')), 5_000);
    });

  it('answers a header block over 16 KiB with 431 problem+json, however it is made up', async () => {
    const huge = `X-Huge: ${'a'.repeat(20_000)}\r\n`;
    const repeated = 'X-Junk: yyyyyyyy\r\n'.repeat(2_000);
    for (const headers of [huge, repeated]) {
      const received = await exchange(`GET /health/live HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
      expect(received).toMatch(/^HTTP\/1\.1 431 /);
      expect(received).toMatch(/content-type: application\/problem\+json/i);
    }
    // The server is unharmed.
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  });

  it('still serves others meanwhile', async () => {
    const slow = dribble('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const res = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(res.status).toBe(200);
    await slow;
  });
});
