import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * `npm run bench:start`: wall time from `npm start` to the first 200 from /health/ready, on the
 * embedded PostgreSQL: cold (fresh DATA_DIR: initdb, migrations, seed) and warm (existing data).
 * Both include the build `npm start` runs first.
 */

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startOnce(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn('npm', ['start'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error('npm start exited before it was ready');
      const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-bench-start-'));
  // As root the embedded PostgreSQL runs as the postgres user, who must pass through it.
  chmodSync(dataDir, 0o711);
  try {
    const cold = await startOnce(dataDir);
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) warm.push(await startOnce(dataDir));
    const median = [...warm].sort((a, b) => a - b)[1];
    console.log(`npm start to ready, embedded PostgreSQL (build included)`);
    console.log(`  cold (new DATA_DIR):  ${(cold / 1000).toFixed(2)} s`);
    console.log(
      `  warm (median of 3):   ${(median / 1000).toFixed(2)} s  [${warm.map((ms) => (ms / 1000).toFixed(2)).join(', ')}]`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
