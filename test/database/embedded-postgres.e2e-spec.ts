import { spawn } from 'node:child_process';
import { chownSync, existsSync, readFileSync } from 'node:fs';
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

  it('adopts a cluster left running by a process that died, and stops it', async () => {
    const dir = dataDir();
    // A process starts the cluster and is killed before it can stop it.
    const orphaning = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
      const { EmbeddedPostgresServer } = require(${JSON.stringify(path.join(ROOT, 'src/database/embedded-postgres'))});
      EmbeddedPostgresServer.start({ dataDir: ${JSON.stringify(dir)}, database: 'auth' })
        .then(() => process.stdout.write('started\\n'));
    `,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => orphaning.stdout.on('data', () => resolve()));
    orphaning.kill('SIGKILL');
    await new Promise((resolve) => orphaning.once('exit', resolve));
    const pidFile = path.join(dir, 'postgres', 'postmaster.pid');
    const orphanPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    expect(() => process.kill(orphanPid, 0)).not.toThrow();

    const result = await tsx(script, [dir]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^ok postgres \d{6}\n$/);
    expect(existsSync(pidFile)).toBe(false);
    expect(() => process.kill(orphanPid, 0)).toThrow();
  });
});
