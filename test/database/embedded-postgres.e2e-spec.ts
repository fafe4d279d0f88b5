import { chownSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { ROOT, run, tsx } from '../support/run';
import { clusterTempDir } from '../support/temp-dir';

const script = path.join(ROOT, 'test', 'support', 'start-embedded.ts');
const isRoot = userInfo().uid === 0;

/** PostgreSQL refuses to run as root; CI and containers run as root, laptops do not. */
describe('embedded PostgreSQL runs whoever starts the service', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = clusterTempDir('auth-embedded-');
    dirs.push(dir);
    return dir;
  };
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it(`starts, serves and stops as the current user (${isRoot ? 'root' : 'an ordinary user'})`, async () => {
    const dir = dataDir();
    const result = await tsx(script, [dir]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^ok postgres \d{6}\n$/);
    expect(existsSync(path.join(dir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  const asOrdinaryUser = isRoot && existsSync('/usr/sbin/runuser') ? it : it.skip;
  if (!isRoot) {
    process.stdout.write(
      'embedded-postgres: not root, so the ordinary-user case is the test above\n',
    );
  }
  asOrdinaryUser('starts, serves and stops as an ordinary user (nobody)', async () => {
    const dir = dataDir();
    chownSync(dir, 65534, 65534);
    const result = await run(
      '/usr/sbin/runuser',
      ['-u', 'nobody', '--', process.execPath, '--import', 'tsx', script, dir],
      {
        env: { HOME: dir },
      },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^ok postgres \d{6}\n$/);
  });
});
