import { ApiException } from '../../common/errors/api-exception';
import type { AppConfig } from '../../config/app-config';
import { PasswordHasher } from './password-hasher';
import { WorkLimiter } from '../../common/work-limiter';

const config = { argon2: { memoryKib: 1024, timeCost: 1, parallelism: 1 } } as AppConfig;

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher(config);

  it('hashes with argon2id and verifies, after NFKC normalisation', async () => {
    const digest = await hasher.hash('cafe\u0301 au lait');
    expect(digest).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
    await expect(hasher.verify(digest, 'caf\u00e9 au lait')).resolves.toBe(true);
    await expect(hasher.verify(digest, 'cafe au lait')).resolves.toBe(false);
    await expect(hasher.verify('not a hash', 'x')).resolves.toBe(false);
  });

  it('tells which hashes were made with other parameters', async () => {
    const other = new PasswordHasher({
      argon2: { memoryKib: 2048, timeCost: 1, parallelism: 1 },
    } as AppConfig);
    expect(hasher.needsRehash(await hasher.hash('password'))).toBe(false);
    expect(hasher.needsRehash(await other.hash('password'))).toBe(true);
    expect(hasher.needsRehash('garbage')).toBe(true);
  });

  it('always fails the dummy check', async () => {
    await expect(hasher.verifyDummy('anything')).resolves.toBe(false);
  });

  it('answers 503 service_unavailable with Retry-After when too much hashing is queued', async () => {
    const busy = new PasswordHasher(config);
    (busy as unknown as { limiter: WorkLimiter }).limiter = new WorkLimiter(1, 1);
    const first = busy.hash('one-password');
    const second = busy.hash('two-password');
    const refused = busy.hash('three-password').catch((error: unknown) => error);
    const error = await refused;
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException).code).toBe('service_unavailable');
    expect((error as ApiException).problem.retryAfterSeconds).toBeGreaterThan(0);
    await Promise.all([first, second]);
  });
});
