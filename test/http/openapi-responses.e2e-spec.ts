import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import type { Response } from 'light-my-request';
import { bearer, newAccount, superuserTokens, uniqueEmail } from '../support/auth';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Real answers against the served OpenAPI document: each status is documented for its operation,
 * and each body validates against the schema documented for that status and content type, so a
 * client generated from the document (or validating with it) reads what the service sends.
 */
describe('responses against the OpenAPI document', () => {
  let t: TestApp;
  let document: {
    paths: Record<string, Record<string, { responses: Record<string, Documented> }>>;
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);

  interface Documented {
    content?: Record<string, { schema: object }>;
  }

  beforeAll(async () => {
    t = await createTestApp();
    document = (await t.request({ method: 'GET', url: '/docs/json' })).json();
    ajv.addSchema(document, 'openapi');
  });
  afterAll(() => t.close());

  const pointer = (...parts: string[]) =>
    parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

  /** Asserts that `res` is a documented answer of `operation` ("GET /users/{id}"). */
  function expectDocumented(operation: string, res: Response): void {
    const [method, path] = operation.split(' ');
    const status = String(res.statusCode);
    const responses = document.paths[path]?.[method.toLowerCase()]?.responses ?? {};
    expect([operation, status, Object.keys(responses)]).toEqual([
      operation,
      status,
      expect.arrayContaining([status]),
    ]);
    const content = responses[status].content;
    if (!content) {
      expect([operation, status, res.body]).toEqual([operation, status, '']);
      return;
    }
    const type = String(res.headers['content-type']).split(';')[0];
    expect([operation, status, Object.keys(content)]).toEqual([operation, status, [type]]);
    const ref = `openapi#/${pointer('paths', path, method.toLowerCase(), 'responses', status, 'content', type, 'schema')}`;
    const validate = ajv.getSchema(ref) as ValidateFunction;
    const valid = validate(type.endsWith('json') ? res.json() : res.body);
    expect([operation, status, valid ? null : validate.errors]).toEqual([operation, status, null]);
  }

  interface Call {
    /** Values for the path's `{name}`s (a random UUID where none is given). */
    ids?: Record<string, string>;
    query?: string;
    token?: string;
    body?: object | string;
    headers?: Record<string, string>;
  }

  const called = new Set<string>();

  /** Sends `operation` ("PATCH /users/{id}") and checks the answer against the document. */
  async function call(operation: string, options: Call = {}): Promise<Response> {
    called.add(operation);
    const [method, template] = operation.split(' ');
    const path = template.replace(
      /\{(\w+)\}/g,
      (_, name: string) => options.ids?.[name] ?? randomUUID(),
    );
    const res = await t.request({
      method,
      url: path + (options.query ?? ''),
      payload: options.body,
      headers: { ...(options.token && bearer(options.token)), ...options.headers },
    });
    expectDocumented(operation, res);
    return res;
  }

  it('answers the Auth operations as documented', async () => {
    const email = uniqueEmail('documented');
    const password = 'documented-password';
    await call('POST /auth/signup', { body: { email, password } });
    await call('POST /auth/signup', { body: { email, password } });
    await call('POST /auth/signup', { body: { email: 'nope' } });
    const tokens = (await call('POST /auth/login', { body: { email, password } })).json();
    await call('POST /auth/login', { body: { email, password: 'wrong-password' } });
    await call('POST /auth/login', { body: 'email=a', headers: { 'content-type': 'text/plain' } });
    const rotated = await call('POST /auth/refresh', {
      body: { refreshToken: tokens.refreshToken },
    });
    await call('POST /auth/refresh', { body: { refreshToken: tokens.refreshToken + 'x' } });
    const token = rotated.json().accessToken as string;
    await call('GET /auth/sessions', { token });
    await call('GET /auth/sessions');
    await call('DELETE /auth/sessions/{id}', { token });
    const key = (
      await call('POST /auth/api-keys', {
        token,
        body: { name: 'documented', scopes: ['users:read'] },
      })
    ).json();
    await call('GET /auth/api-keys', { token });
    await call('GET /users/me', { headers: { 'x-api-key': key.key } });
    await call('DELETE /auth/api-keys/{id}', { token, ids: { id: key.id } });
    await call('POST /auth/password-reset/request', { body: { email } });
    await call('POST /auth/password-reset/confirm', {
      body: { token: 'A'.repeat(43), newPassword: 'another-password' },
    });
    await call('POST /auth/logout', { token });
    await call('POST /auth/logout-all');
  });

  it('answers the Users operations as documented', async () => {
    const account = await newAccount(t, 'documented-user');
    const token = account.tokens.accessToken;
    const admin = (await superuserTokens(t)).accessToken;
    await call('GET /users/me', { token });
    await call('GET /users/me');
    await call('PATCH /users/me', { token, body: { fullName: 'Documented Person' } });
    await call('PATCH /users/me', { token, body: { isSuperuser: true } });
    await call('POST /users/me/password', {
      token,
      body: { currentPassword: 'not-the-password', newPassword: 'another-password' },
    });
    await call('GET /users/me/security-events', { token });
    await call('GET /users', { token: admin, query: '?limit=2' });
    await call('GET /users', { token: admin, query: '?limit=0' });
    await call('GET /users', { token });
    const created = await call('POST /users', {
      token: admin,
      body: {
        email: uniqueEmail('documented-admin'),
        password: 'documented-password',
        roles: ['a'],
      },
    });
    const ids = { id: created.json().id as string };
    await call('GET /users/{id}', { token: admin, ids });
    await call('GET /users/{id}', { token: admin });
    await call('PATCH /users/{id}', { token: admin, ids, body: { isActive: false } });
    await call('DELETE /users/{id}', { token: admin, ids });
    await call('GET /audit-events', { token: admin, query: '?limit=5' });
  });

  it('documents request bodies no stricter than the service: a role or a scope given twice', () => {
    // The service takes these (test/users, test/auth/api-keys); a validating client must too.
    const accepts = (schema: string, body: object) =>
      ajv.validate({ $ref: `openapi#/components/schemas/${schema}` }, body);
    const roles = Array<string>(40).fill('ops');
    expect(accepts('CreateUserRequest', { email: 'a@example.com', password: 'pw', roles })).toBe(
      true,
    );
    expect(accepts('UpdateUserRequest', { roles })).toBe(true);
    expect(
      accepts('CreateApiKeyRequest', { name: 'x', scopes: ['users:read', 'users:read'] }),
    ).toBe(true);
    expect(accepts('CreateApiKeyRequest', { name: 'x', scopes: ['admin'] })).toBe(false);
    const schemas = (document as unknown as { components: { schemas: Record<string, any> } })
      .components.schemas;
    expect(schemas.CreateUserRequest.properties.roles.description).toMatch(/At most 32 different/);
    expect(schemas.CreateApiKeyRequest.properties.scopes.description).toMatch(
      /^What the key may do.*At most 1 different scopes/,
    );
  });

  it('answers Discovery and operations as documented', async () => {
    await call('GET /.well-known/jwks.json');
    await call('GET /health/live');
    await call('GET /health/ready');
    await call('GET /metrics');
  });

  it('has checked an answer of every documented operation (the tests above run first)', () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...called].sort()).toEqual(documented.sort());
  });
});
