import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The served OpenAPI document against the contract (../shared/API.md): every row is an operation
 * with its success status and the errors the contract names, each documented as problem+json
 * carrying the Problem schema.
 */
interface Row {
  operation: string;
  success: number;
  errors: number[];
  auth: 'bearer' | 'none' | 'optional' | 'bearer or key';
}

const CONTRACT: Row[] = [
  { operation: 'POST /auth/signup', success: 201, errors: [400, 403, 409], auth: 'none' },
  { operation: 'POST /auth/login', success: 200, errors: [400, 401, 403, 429], auth: 'none' },
  { operation: 'POST /auth/refresh', success: 200, errors: [400, 401], auth: 'none' },
  { operation: 'POST /auth/logout', success: 204, errors: [401], auth: 'optional' },
  { operation: 'POST /auth/logout-all', success: 204, errors: [401], auth: 'bearer' },
  { operation: 'GET /auth/sessions', success: 200, errors: [401], auth: 'bearer' },
  { operation: 'DELETE /auth/sessions/{id}', success: 204, errors: [401, 404], auth: 'bearer' },
  {
    operation: 'POST /auth/password-reset/request',
    success: 202,
    errors: [400, 429],
    auth: 'none',
  },
  {
    operation: 'POST /auth/password-reset/confirm',
    success: 204,
    errors: [400],
    auth: 'none',
  },
  { operation: 'GET /auth/api-keys', success: 200, errors: [401], auth: 'bearer' },
  { operation: 'POST /auth/api-keys', success: 201, errors: [400, 401], auth: 'bearer' },
  { operation: 'DELETE /auth/api-keys/{id}', success: 204, errors: [401, 404], auth: 'bearer' },
  { operation: 'GET /users/me', success: 200, errors: [401, 403], auth: 'bearer or key' },
  { operation: 'PATCH /users/me', success: 200, errors: [400, 401, 409], auth: 'bearer' },
  { operation: 'POST /users/me/password', success: 204, errors: [400, 401], auth: 'bearer' },
  { operation: 'GET /users', success: 200, errors: [400, 401, 403], auth: 'bearer' },
  { operation: 'POST /users', success: 201, errors: [400, 401, 403, 409], auth: 'bearer' },
  { operation: 'GET /users/{id}', success: 200, errors: [401, 403, 404], auth: 'bearer' },
  { operation: 'PATCH /users/{id}', success: 200, errors: [401, 403, 404, 409], auth: 'bearer' },
  { operation: 'DELETE /users/{id}', success: 204, errors: [401, 403, 404], auth: 'bearer' },
  { operation: 'GET /audit-events', success: 200, errors: [400, 401, 403], auth: 'bearer' },
  { operation: 'GET /users/me/security-events', success: 200, errors: [401], auth: 'bearer' },
  { operation: 'GET /.well-known/jwks.json', success: 200, errors: [], auth: 'none' },
  { operation: 'GET /health/live', success: 200, errors: [], auth: 'none' },
  { operation: 'GET /health/ready', success: 200, errors: [503], auth: 'none' },
  { operation: 'GET /metrics', success: 200, errors: [], auth: 'none' },
];

interface Operation {
  responses: Record<
    string,
    { content?: Record<string, { schema?: { $ref?: string } }>; headers?: Record<string, unknown> }
  >;
  security?: Record<string, string[]>[];
  requestBody?: unknown;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let document: { paths: Record<string, Record<string, Operation>>; components: any };
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    t = await createTestApp();
    document = (await t.request({ method: 'GET', url: '/docs/json' })).json();
    paths = document.paths;
  });
  afterAll(() => t.close());

  const operation = (row: Row): Operation => {
    const [method, path] = row.operation.split(' ');
    const found = paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`${row.operation} is not documented`);
    return found;
  };

  it.each(CONTRACT)('$operation: success and errors as the contract says', (row) => {
    const { responses } = operation(row);
    expect(Object.keys(responses)).toEqual(
      expect.arrayContaining([row.success, ...row.errors].map(String)),
    );
    for (const [status, response] of Object.entries(responses)) {
      if (Number(status) < 400) continue;
      expect(response.content?.['application/problem+json']?.schema?.$ref).toBe(
        '#/components/schemas/Problem',
      );
    }
  });

  it.each(CONTRACT)('$operation: authentication is documented', (row) => {
    const schemes = (operation(row).security ?? []).map((requirement) => Object.keys(requirement));
    if (row.auth === 'none') expect(schemes).toEqual([]);
    if (row.auth === 'bearer') expect(schemes).toEqual([['bearer']]);
    if (row.auth === 'optional') expect(schemes).toEqual(expect.arrayContaining([[], ['bearer']]));
    if (row.auth === 'bearer or key') {
      expect(schemes).toEqual(expect.arrayContaining([['bearer'], ['api-key']]));
    }
  });

  it('documents the shell’s errors: 400, 408, 415, 417 and 431 everywhere, 413 wherever a body is read, 503 where the database is needed', () => {
    for (const row of CONTRACT) {
      const { responses } = operation(row);
      const everywhere = ['400', '408', '415', '417', '431'];
      const shell = row.operation.startsWith('GET ') ? everywhere : [...everywhere, '413'];
      expect([row.operation, Object.keys(responses)]).toEqual([
        row.operation,
        expect.arrayContaining(shell),
      ]);
    }
    expect(operation(CONTRACT[0]).responses['503']).toBeDefined();
    expect(paths['/health/live'].get.responses['503']).toBeUndefined();
    expect(paths['/.well-known/jwks.json'].get.responses['503']).toBeUndefined();
  });

  it('documents WWW-Authenticate on every 401', () => {
    const unauthorized = CONTRACT.filter((row) => operation(row).responses['401']);
    expect(unauthorized.length).toBeGreaterThan(10);
    for (const row of unauthorized) {
      const headers = Object.keys(operation(row).responses['401'].headers ?? {});
      expect([row.operation, headers]).toEqual([row.operation, ['WWW-Authenticate']]);
    }
  });

  it('requires a request body where the contract has one; logout’s is optional', () => {
    const withBody = CONTRACT.filter((row) => operation(row).requestBody);
    for (const row of withBody) {
      expect([row.operation, operation(row).requestBody]).toEqual([
        row.operation,
        expect.objectContaining({ required: row.operation !== 'POST /auth/logout' }),
      ]);
    }
    expect(withBody.map((row) => row.operation)).toContain('POST /auth/logout');
    for (const bodyless of [
      'POST /auth/logout-all',
      'DELETE /auth/sessions/{id}',
      'DELETE /auth/api-keys/{id}',
      'DELETE /users/{id}',
    ]) {
      expect(withBody.map((row) => row.operation)).not.toContain(bodyless);
    }
    // An API key on logout is served as no credentials (401), never 403.
    expect(paths['/auth/logout'].post.responses['403']).toBeUndefined();
  });

  it('documents emails as format email of at most 254 characters, with no regex to misread', () => {
    const schemas = document.components.schemas as Record<
      string,
      { properties: Record<string, Record<string, unknown>> }
    >;
    expect(schemas.SignupRequest.properties.email).toMatchObject({
      format: 'email',
      maxLength: 254,
    });
    for (const schema of [schemas.SignupRequest, schemas.User]) {
      expect(schema.properties.email.pattern).toBeUndefined();
    }
  });

  it('resolves every $ref to a component; Problem is the schema itself, not a reference', () => {
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) {
      const name = /^"\$ref":"#\/components\/schemas\/([^"/]+)"$/.exec(ref)?.[1];
      expect([ref, name && document.components.schemas[name] !== undefined]).toEqual([ref, true]);
    }
    const problem = document.components.schemas.Problem;
    expect(problem).not.toHaveProperty('$ref');
    expect(problem).not.toHaveProperty('definitions');
    expect(problem).toMatchObject({ type: 'object', required: expect.arrayContaining(['code']) });
    expect(problem.properties.code.enum).toContain('validation_failed');
  });

  it.each([
    ['/users', ['offset', 'limit', 'search'], 50],
    ['/audit-events', ['userId', 'type', 'since', 'offset', 'limit'], 50],
    ['/users/me/security-events', ['limit'], 20],
  ])(
    'GET %s documents its query parameters, with their limits and defaults',
    (path, names, limitDefault) => {
      const parameters = (
        paths[path].get as unknown as {
          parameters: { name: string; in: string; required: boolean; schema: any }[];
        }
      ).parameters;
      expect(parameters.map((parameter) => parameter.name).sort()).toEqual([...names].sort());
      for (const parameter of parameters) {
        expect(parameter).toMatchObject({ in: 'query', required: false });
        expect(parameter.schema.type).toBeDefined();
      }
      const limit = parameters.find((parameter) => parameter.name === 'limit')!;
      expect(limit.schema).toEqual({
        type: 'integer',
        minimum: 1,
        maximum: 100,
        default: limitDefault,
      });
      const offset = parameters.find((parameter) => parameter.name === 'offset');
      if (offset) expect(offset.schema).toMatchObject({ default: 0 });
    },
  );

  it('documents nothing the contract does not have, and no internal extension leaks', () => {
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(CONTRACT.map((row) => row.operation).sort());
    expect(JSON.stringify(paths)).not.toContain('x-without-database');
  });
});
