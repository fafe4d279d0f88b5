import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client, type QueryResultRow } from 'pg';
import { ROOT } from './run';

export const MAIN = path.join(ROOT, 'dist', 'main.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The built service (`npm start` runs `node dist/main.js` after building) as a child process. */
export class ServiceProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(
    readonly port: number,
    env: Record<string, string | undefined>,
  ) {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
    this.child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async get(route: string): Promise<{ status: number; body: string; ms: number }> {
    const started = Date.now();
    const res = await fetch(`${this.url}${route}`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text(), ms: Date.now() - started };
  }

  /** Resolves once /health/ready answers 200; rejects if the process exits or time runs out. */
  async ready(timeoutMs = 20_000): Promise<number> {
    const started = Date.now();
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (Date.now() - started < timeoutMs) {
      if (exited) throw new Error(`service exited before ready:\n${this.stdout}\n${this.stderr}`);
      try {
        if ((await this.get('/health/ready')).status === 200) return Date.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`service not ready after ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    this.child.kill(signal);
    return this.exited;
  }
}

/**
 * Runs one query on the embedded PostgreSQL of a service started with `dataDir` as DATA_DIR, while
 * it runs: its port from postmaster.pid, its generated password from credentials.json.
 */
export async function queryEmbedded<T extends QueryResultRow>(
  dataDir: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const port = readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split(
    '\n',
  )[3];
  const { password } = JSON.parse(readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as {
    password: string;
  };
  const client = new Client({
    host: '127.0.0.1',
    port: Number(port),
    user: 'postgres',
    password,
    database: 'auth',
  });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}
