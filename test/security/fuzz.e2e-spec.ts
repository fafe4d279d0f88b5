import fc from 'fast-check';
import { newAccount, superuserTokens } from '../support/auth';
import { createTestApp, type TestApp } from '../support/test-app';

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: string }[];
  bodyFields: string[];
  hasBody: boolean;
}

const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 100);

/**
 * Property-based fuzzing of every operation in the OpenAPI document: random (but shape-aware)
 * path parameters, query strings, bodies, content types and credentials. Whatever is sent, the
 * answer is never a 5xx, always comes within a few seconds, and every error is problem+json.
 */
describe('fuzzing every endpoint', () => {
  let t: TestApp;
  let operations: Operation[];
  let credentials: Record<string, string>[];
  let sent = 0;

  beforeAll(async () => {
    t = await createTestApp({ IP_RATE_LIMIT_PER_MINUTE: '1000000' });
    const doc = (await t.request({ method: 'GET', url: '/docs/json' })).json();
    operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(
      ([path, item]) =>
        Object.entries(item).map(([method, op]) => {
          const ref: string | undefined =
            op.requestBody?.content?.['application/json']?.schema?.$ref;
          const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
          return {
            method: method.toUpperCase(),
            path,
            parameters: op.parameters ?? [],
            bodyFields: Object.keys(schema?.properties ?? {}),
            hasBody: !!op.requestBody,
          };
        }),
    );
    const user = await newAccount(t, 'fuzz');
    const admin = await superuserTokens(t);
    const key = await t.request({
      method: 'POST',
      url: '/auth/api-keys',
      headers: { authorization: `Bearer ${user.tokens.accessToken}` },
      payload: { name: 'fuzz', scopes: ['users:read'] },
    });
    credentials = [
      {},
      { authorization: `Bearer ${user.tokens.accessToken}` },
      { authorization: `Bearer ${admin.accessToken}` },
      { 'x-api-key': key.json().key },
      { authorization: 'Bearer garbage.garbage.garbage' },
      { authorization: 'Basic YTpi' },
    ];
  });
  afterAll(async () => {
    await t.close();
    process.stdout.write(`fuzz: ${sent} requests over ${operations.length} operations, no 5xx\n`);
  });

  const scalar = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.uuid(),
    fc.emailAddress(),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  );
  const value = fc.oneof(
    { weight: 4, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }) },
  );
  const segment = fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 30 }),
    fc.constant('me'),
    fc.constant('..'),
  );

  it('never answers with a 5xx, a hang or a non-problem error', async () => {
    for (const op of operations) {
      const body = fc.oneof(
        // Objects made of the operation's own fields, with random values and sometimes extras.
        fc
          .tuple(
            fc.subarray(op.bodyFields),
            fc.array(value, { minLength: op.bodyFields.length, maxLength: op.bodyFields.length }),
            fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 2 }),
            fc.boolean(),
          )
          .map(([fields, values, extra, withExtra]) =>
            JSON.stringify({
              ...Object.fromEntries(fields.map((f, i) => [f, values[i]])),
              ...(withExtra ? extra : {}),
            }),
          ),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 200 }),
        fc.constant(''),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(segment, { minLength: 3, maxLength: 3 }),
          fc.dictionary(
            fc.oneof(
              fc.constantFrom(
                ...op.parameters.filter((p) => p.in === 'query').map((p) => p.name),
                'x',
              ),
              fc.string({ maxLength: 6 }),
            ),
            fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String)),
            { maxKeys: 4 },
          ),
          body,
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'text/plain',
            'application/x-www-form-urlencoded',
            undefined,
          ),
          fc.constantFrom(...credentials),
          async (segments, query, payload, contentType, credential) => {
            let i = 0;
            const path = op.path.replace(/\{[^}]+\}/g, () =>
              encodeURIComponent(segments[i++] ?? ''),
            );
            const search = new URLSearchParams(query).toString();
            const started = Date.now();
            const res = await t.request({
              method: op.method,
              url: search ? `${path}?${search}` : path,
              headers: { ...credential, ...(contentType ? { 'content-type': contentType } : {}) },
              payload: op.hasBody || payload.length % 3 === 0 ? payload : undefined,
            });
            sent++;
            expect([op.method, op.path, res.statusCode < 500]).toEqual([op.method, op.path, true]);
            expect(Date.now() - started).toBeLessThan(5_000);
            if (res.statusCode >= 400) {
              expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            }
          },
        ),
        { numRuns: RUNS_PER_OPERATION },
      );
    }
    expect(sent).toBeGreaterThanOrEqual(operations.length * RUNS_PER_OPERATION);
  }, 600_000);
});
