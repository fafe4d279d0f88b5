import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
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
