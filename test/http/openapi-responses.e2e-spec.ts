import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import type { Response } from 'light-my-request';
import { bearer, get, newAccount, post, superuserTokens, uniqueEmail } from '../support/auth';
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
    const valid = validate(res.json());
    expect([operation, status, valid ? null : validate.errors]).toEqual([operation, status, null]);
  }

  it('answers the Auth operations as documented', async () => {
    const email = uniqueEmail('documented');
    const password = 'documented-password';
    expectDocumented('POST /auth/signup', await post(t, '/auth/signup', { email, password }));
    expectDocumented('POST /auth/signup', await post(t, '/auth/signup', { email, password }));
    expectDocumented('POST /auth/signup', await post(t, '/auth/signup', { email: 'nope' }));
    const loggedIn = await post(t, '/auth/login', { email, password });
    expectDocumented('POST /auth/login', loggedIn);
    expectDocumented(
      'POST /auth/login',
      await post(t, '/auth/login', { email, password: 'wrong-password' }),
    );
    const tokens = loggedIn.json();
    const rotated = await post(t, '/auth/refresh', { refreshToken: tokens.refreshToken });
    expectDocumented('POST /auth/refresh', rotated);
    expectDocumented(
      'POST /auth/refresh',
      await post(t, '/auth/refresh', { refreshToken: tokens.refreshToken + 'x' }),
    );
    const { accessToken } = rotated.json();
    expectDocumented('GET /auth/sessions', await get(t, '/auth/sessions', accessToken));
    expectDocumented('GET /auth/sessions', await get(t, '/auth/sessions'));
    expectDocumented(
      'DELETE /auth/sessions/{id}',
      await t.request({
        method: 'DELETE',
        url: `/auth/sessions/${randomUUID()}`,
        headers: bearer(accessToken),
      }),
    );
    const created = await post(
      t,
      '/auth/api-keys',
      { name: 'documented', scopes: ['users:read'] },
      bearer(accessToken),
    );
    expectDocumented('POST /auth/api-keys', created);
    expectDocumented('GET /auth/api-keys', await get(t, '/auth/api-keys', accessToken));
    expectDocumented(
      'GET /users/me',
      await t.request({
        method: 'GET',
        url: '/users/me',
        headers: { 'x-api-key': created.json().key },
      }),
    );
    expectDocumented(
      'DELETE /auth/api-keys/{id}',
      await t.request({
        method: 'DELETE',
        url: `/auth/api-keys/${created.json().id}`,
        headers: bearer(accessToken),
      }),
    );
    expectDocumented(
      'POST /auth/password-reset/request',
      await post(t, '/auth/password-reset/request', { email }),
    );
    expectDocumented(
      'POST /auth/password-reset/confirm',
      await post(t, '/auth/password-reset/confirm', {
        token: 'A'.repeat(43),
        newPassword: 'another-password',
      }),
    );
    expectDocumented(
      'POST /auth/logout',
      await post(t, '/auth/logout', undefined, bearer(accessToken)),
    );
    expectDocumented('POST /auth/logout-all', await post(t, '/auth/logout-all'));
    expectDocumented(
      'POST /auth/login',
      await t.request({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'text/plain' },
        payload: 'email=a',
      }),
    );
  });

  it('answers the Users operations as documented', async () => {
    const account = await newAccount(t, 'documented-user');
    const admin = await superuserTokens(t);
    const { accessToken } = account.tokens;
    expectDocumented('GET /users/me', await get(t, '/users/me', accessToken));
    expectDocumented('GET /users/me', await get(t, '/users/me'));
    expectDocumented(
      'PATCH /users/me',
      await t.request({
        method: 'PATCH',
        url: '/users/me',
        headers: bearer(accessToken),
        payload: { fullName: 'Documented Person' },
      }),
    );
    expectDocumented(
      'PATCH /users/me',
      await t.request({
        method: 'PATCH',
        url: '/users/me',
        headers: bearer(accessToken),
        payload: { isSuperuser: true },
      }),
    );
    expectDocumented(
      'POST /users/me/password',
      await post(
        t,
        '/users/me/password',
        { currentPassword: 'not-the-password', newPassword: 'another-password' },
        bearer(accessToken),
      ),
    );
    expectDocumented(
      'GET /users/me/security-events',
      await get(t, '/users/me/security-events', accessToken),
    );
    expectDocumented('GET /users', await get(t, '/users?limit=2', admin.accessToken));
    expectDocumented('GET /users', await get(t, '/users?limit=0', admin.accessToken));
    expectDocumented('GET /users', await get(t, '/users', accessToken));
    const createdUser = await post(
      t,
      '/users',
      { email: uniqueEmail('documented-admin'), password: 'documented-password', roles: ['a'] },
      bearer(admin.accessToken),
    );
    expectDocumented('POST /users', createdUser);
    expectDocumented('GET /users/{id}', await get(t, `/users/${account.id}`, admin.accessToken));
    expectDocumented('GET /users/{id}', await get(t, `/users/${randomUUID()}`, admin.accessToken));
    expectDocumented(
      'PATCH /users/{id}',
      await t.request({
        method: 'PATCH',
        url: `/users/${createdUser.json().id}`,
        headers: bearer(admin.accessToken),
        payload: { isActive: false },
      }),
    );
    expectDocumented(
      'DELETE /users/{id}',
      await t.request({
        method: 'DELETE',
        url: `/users/${createdUser.json().id}`,
        headers: bearer(admin.accessToken),
      }),
    );
    expectDocumented('GET /audit-events', await get(t, '/audit-events?limit=5', admin.accessToken));
  });

  it('answers Discovery and operations as documented', async () => {
    expectDocumented('GET /.well-known/jwks.json', await get(t, '/.well-known/jwks.json'));
    expectDocumented('GET /health/live', await get(t, '/health/live'));
    expectDocumented('GET /health/ready', await get(t, '/health/ready'));
  });
});
