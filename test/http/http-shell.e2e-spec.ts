import { createTestApp, type TestApp } from '../support/test-app';

const PROBLEM_JSON = /^application\/problem\+json/;

describe('HTTP shell: errors are problem+json, never 5xx for bad input', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers an unknown route with 404 not_found', async () => {
    const res = await t.request({ method: 'GET', url: '/no/such/route' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(res.json()).toEqual({
      type: 'urn:auth-service:problem:not_found',
      title: 'Not found',
      status: 404,
      detail: expect.any(String),
      code: 'not_found',
    });
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
      headers: { 'x-request-id': 'a\u0000"}{' },
    });
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
