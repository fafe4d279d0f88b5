import { randomBytes } from 'node:crypto';
import type { Response } from 'light-my-request';
import { TEST_SUPERUSER, type TestApp } from './test-app';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshExpiresIn: number;
}

export interface Account {
  id: string;
  email: string;
  password: string;
  tokens: TokenPair;
}

export const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });

export const uniqueEmail = (label = 'user') =>
  `${label}-${randomBytes(5).toString('hex')}@example.com`;

export function post(
  t: TestApp,
  url: string,
  payload?: object,
  headers: Record<string, string> = {},
) {
  return t.request({ method: 'POST', url, payload, headers });
}

export function get(t: TestApp, url: string, accessToken?: string): Promise<Response> {
  return t.request({ method: 'GET', url, headers: accessToken ? bearer(accessToken) : {} });
}

export async function login(t: TestApp, email: string, password: string): Promise<TokenPair> {
  const res = await post(t, '/auth/login', { email, password });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A new user, signed up and logged in. */
export async function newAccount(t: TestApp, label = 'user'): Promise<Account> {
  const email = uniqueEmail(label);
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const signup = await post(t, '/auth/signup', { email, password });
  if (signup.statusCode !== 201)
    throw new Error(`signup failed: ${signup.statusCode} ${signup.body}`);
  return { id: signup.json().id, email, password, tokens: await login(t, email, password) };
}

export function superuserTokens(t: TestApp): Promise<TokenPair> {
  return login(t, TEST_SUPERUSER.email, TEST_SUPERUSER.password);
}

export function refresh(t: TestApp, refreshToken: string) {
  return post(t, '/auth/refresh', { refreshToken });
}

/** The JWT's decoded header and payload (no verification). */
export function decodeJwt(token: string): { header: any; payload: any } {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header, payload };
}

/** Polls until `check` is true; returns how long it took, or throws after `timeoutMs`. */
export async function within(timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}
