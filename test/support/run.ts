import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the project root, as a user would, and collects its output. */
export function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The Prisma CLI, exactly as `npx prisma …` runs it (prisma.config.ts picks the engine). */
export function prisma(
  args: string[],
  databaseUrl: string,
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  return run(process.execPath, [require.resolve('prisma/build/index.js'), ...args], {
    env: { ...env, DATABASE_URL: databaseUrl },
  });
}

/** A TypeScript entry point (scripts, the seed), run with tsx like the npm scripts do. */
export function tsx(script: string, args: string[], env: Record<string, string | undefined> = {}) {
  return run(process.execPath, ['--import', 'tsx', script, ...args], { env });
}
