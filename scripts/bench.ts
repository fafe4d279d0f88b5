import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { argon2id, hash, verify } from 'argon2';
import autocannon, { type Result } from 'autocannon';

/**
 * `npm run bench`: starts the built service (and, as the ceiling, a bare Nest + Fastify hello
 * route) and measures with autocannon, in one run:
 *   - GET /users/me with a bearer token (the JWT guard's hot path) against the bare route, and
 *     the service's public GET /health/live beside them, which splits the difference into what
 *     the service's HTTP shell costs and what /users/me adds (the token check, a larger request
 *     and response);
 *   - POST /auth/login against raw argon2 verify throughput at the same parameters;
 *   - POST /auth/refresh rotations.
 * The database is DATABASE_URL if set, else the embedded PostgreSQL in a temporary DATA_DIR.
 * Targets on a 2-core machine: guarded >= 0.5x bare, login >= 0.9x raw argon2, refresh >= 500/s.
 *
 * The measurements that make ratios are taken in alternating rounds (bare, public, guarded, bare,
 * …; raw argon2, login, …) and the median of the rounds' ratios is reported with their range: on a
 * shared virtual machine the speed of the whole box drifts by ±20% within a minute, which one long
 * measurement of each side turns into the ratio's error, while sides measured seconds apart drift
 * together.
 */

const ROOT = path.resolve(__dirname, '..');
/** Length of each measurement (each round of an alternation, and the refresh measurement). */
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_S = 2;
const ARGON2 = { type: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

interface Measurement {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time the serving process spent per request, in µs (Linux only). */
  cpuMicros?: number;
}

/** Linux's clock ticks per second (sysconf(_SC_CLK_TCK)), the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = 100;

/**
 * CPU time (user + system, every thread) process `pid` has used so far, in µs; undefined where
 * there is no /proc. Far steadier than req/s on a shared machine: it does not count the time the
 * process waits for the load generator, which runs on the same cores.
 */
function cpuMicros(pid: number | undefined): number | undefined {
  try {
    // After the command name: state (field 3), …, utime (14) and stime (15), see proc_pid_stat(5).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startProcess(command: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
}

/** Polls until `url` answers 200. */
async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer`);
}

async function json<T>(url: string, init: RequestInit): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });
  if (!res.ok) throw new Error(`${init.method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function summarize(name: string, result: Result, cpuUsed: number | undefined): Measurement {
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuMicros: cpuUsed === undefined ? undefined : cpuUsed / result.requests.total,
  };
}

function progress(name: string): void {
  process.stderr.write(`${new Date().toISOString()} measuring ${name}\n`);
}

/** Load that only warms up (JIT, connections, caches); nothing is measured. */
async function warmUp(options: autocannon.Options): Promise<void> {
  await autocannon({ ...options, duration: WARMUP_S });
}

/** Measures with autocannon; `server` is the process serving the requests. */
async function cannon(
  name: string,
  server: ChildProcess,
  options: autocannon.Options,
): Promise<Measurement> {
  progress(name);
  const cpuBefore = cpuMicros(server.pid);
  const result = await autocannon({ ...options, duration: DURATION_S });
  const cpuAfter = cpuMicros(server.pid);
  const cpuUsed =
    cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return summarize(name, result, cpuUsed);
}

/** argon2 verify with the service's parameters, as fast as this machine does it. */
async function rawArgon2(digest: string): Promise<Measurement> {
  const concurrency = availableParallelism();
  progress(`raw argon2 verify (x${concurrency})`);
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const until = Date.now() + DURATION_S * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const started = performance.now();
        await verify(digest, 'benchmark-password');
        latencies.push(performance.now() - started);
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.floor(q * (latencies.length - 1))]);
  return {
    name: `raw argon2 verify (x${concurrency})`,
    rps: latencies.length / DURATION_S,
    p50: at(0.5),
    p99: at(0.99),
    errors: 0,
    // This process does nothing else meanwhile (autocannon is idle between measurements).
    cpuMicros: (cpu.user + cpu.system) / latencies.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One row standing for several rounds of a measurement: the median of each figure. */
function medianOf(rounds: Measurement[]): Measurement {
  const of = (pick: (m: Measurement) => number | undefined) => {
    const values = rounds.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  return {
    name: rounds[0].name,
    rps: of((m) => m.rps)!,
    p50: of((m) => m.p50)!,
    p99: of((m) => m.p99)!,
    errors: rounds.reduce((sum, m) => sum + m.errors, 0),
    cpuMicros: of((m) => m.cpuMicros),
  };
}

/** A ratio measured round by round: its median and range. */
interface Ratio {
  median: number;
  min: number;
  max: number;
}

/** `pick(numerator) / pick(denominator)` round by round. */
function ratioOf(
  numerators: Measurement[],
  denominators: Measurement[],
  pick: (m: Measurement) => number,
): Ratio {
  const ratios = numerators.map((m, i) => pick(m) / pick(denominators[i]));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** Measures each of `measures` in turn, ROUNDS times, after one warm-up; rounds per measure. */
async function alternate(
  measures: (() => Promise<Measurement>)[],
  warmUp: () => Promise<unknown>,
): Promise<Measurement[][]> {
  await warmUp();
  const rounds: Measurement[][] = measures.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, measure] of measures.entries()) rounds[i].push(await measure());
  }
  return rounds;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-bench-'));
  chmodSync(dataDir, 0o711);
  const [servicePort, helloPort] = [await freePort(), await freePort()];
  const service = startProcess(process.execPath, ['dist/main.js'], {
    PORT: String(servicePort),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    FIRST_SUPERUSER_PASSWORD: 'bench-superuser-password',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
    // One client (this script) makes thousands of requests a second: the per-IP budget would
    // answer most of them 429. Every other protection stays as configured.
    IP_RATE_LIMIT_PER_MINUTE: '1000000',
  });
  const hello = startProcess(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench/hello-server.ts', String(helloPort)],
    {},
  );
  const url = `http://127.0.0.1:${servicePort}`;
  const results: Measurement[] = [];
  const ratios: {
    guarded?: Ratio;
    guardedByCpu?: Ratio;
    shellByCpu?: Ratio;
    authByCpu?: Ratio;
    login?: Ratio;
  } = {};
  try {
    await waitFor(`${url}/health/ready`);
    await waitFor(`http://127.0.0.1:${helloPort}/hello`);
    const email = 'bench@example.com';
    const password = 'bench-password-123';
    await json(`${url}/auth/signup`, { method: 'POST', body: JSON.stringify({ email, password }) });
    const login = () =>
      json<{ accessToken: string; refreshToken: string }>(`${url}/auth/login`, {
        method: 'POST',
        body: JSON.stringify({ email, password }),
      });
    const { accessToken } = await login();

    const bare: autocannon.Options = {
      url: `http://127.0.0.1:${helloPort}/hello`,
      connections: 10,
    };
    const guarded: autocannon.Options = {
      url: `${url}/users/me`,
      connections: 10,
      headers: { authorization: `Bearer ${accessToken}` },
    };
    // The service's own public route: its HTTP shell (security headers, request id, metrics,
    // the global guard's early return for @Public) without the token check, which separates
    // what /users/me adds from what the rest of the service adds to the bare route.
    const unguarded: autocannon.Options = { url: `${url}/health/live`, connections: 10 };
    const [bareRounds, unguardedRounds, guardedRounds] = await alternate(
      [
        () => cannon('bare Nest+Fastify GET /hello', hello, bare),
        () => cannon('service, public GET /health/live', service, unguarded),
        () => cannon('guarded GET /users/me', service, guarded),
      ],
      () => Promise.all([warmUp(bare), warmUp(unguarded), warmUp(guarded)]),
    );

    const loginRequest: autocannon.Options = {
      url: `${url}/auth/login`,
      connections: 4,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    };
    const digest = await hash('benchmark-password', ARGON2);
    const [rawRounds, loginRounds] = await alternate(
      [() => rawArgon2(digest), () => cannon('POST /auth/login', service, loginRequest)],
      () => warmUp(loginRequest),
    );
    results.push(
      ...[bareRounds, unguardedRounds, guardedRounds, rawRounds, loginRounds].map(medianOf),
    );
    const rps = (m: Measurement) => m.rps;
    ratios.guarded = ratioOf(guardedRounds, bareRounds, rps);
    ratios.login = ratioOf(loginRounds, rawRounds, rps);
    if (
      [...bareRounds, ...unguardedRounds, ...guardedRounds].every((m) => m.cpuMicros !== undefined)
    ) {
      // By CPU cost instead of throughput: cheaper µs / costlier µs.
      const cpu = (m: Measurement) => m.cpuMicros!;
      ratios.guardedByCpu = ratioOf(bareRounds, guardedRounds, cpu);
      ratios.shellByCpu = ratioOf(bareRounds, unguardedRounds, cpu);
      ratios.authByCpu = ratioOf(unguardedRounds, guardedRounds, cpu);
    }

    // Every request spends a live token and puts its successor back, so each one is a real
    // rotation. (Autocannon clears a connection's context after each request of a one-request
    // list, so the live tokens are kept here, not in the context.) A pool a few times larger than
    // the connections leaves enough after the warm-up's in-flight tokens are lost.
    const connections = 10;
    // One login after another: the account admits only LOGIN_MAX_FAILURES checks at once.
    const live: string[] = [];
    for (let i = 0; i < connections * 3; i++) live.push((await login()).refreshToken);
    let rotations = 0;
    const successors = new Set<string>();
    const refresh: autocannon.Options = {
      url: `${url}/auth/refresh`,
      connections,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => {
            const refreshToken = live.shift();
            if (!refreshToken) throw new Error('no live refresh token left');
            return { ...request, body: JSON.stringify({ refreshToken }) };
          },
          onResponse: (status, body) => {
            if (status !== 200) return;
            const { refreshToken } = JSON.parse(body) as { refreshToken: string };
            rotations++;
            successors.add(refreshToken);
            live.push(refreshToken);
          },
        },
      ],
    };
    await warmUp(refresh);
    results.push(await cannon('POST /auth/refresh', service, refresh));
    // A replay answered from the grace window would return a successor seen before.
    if (successors.size !== rotations) {
      throw new Error(`${rotations - successors.size} refreshes were replays, not rotations`);
    }
  } finally {
    service.kill('SIGTERM');
    hello.kill('SIGTERM');
    await Promise.all(
      [service, hello].map((child) => new Promise((resolve) => child.once('exit', resolve))),
    );
    rmSync(dataDir, { recursive: true, force: true });
  }

  const by = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!;
  console.log(
    `\n${availableParallelism()} cores; ${DURATION_S} s per measurement after ${WARMUP_S} s of ` +
      `warm-up; bare/public/guarded and raw argon2/login in ${ROUNDS} alternating rounds (medians shown)\n`,
  );
  console.log(
    'what'.padEnd(36) +
      'req/s'.padStart(10) +
      'p50 ms'.padStart(9) +
      'p99 ms'.padStart(9) +
      'errors'.padStart(8) +
      'cpu µs/req'.padStart(12),
  );
  for (const r of results) {
    console.log(
      r.name.padEnd(36) +
        r.rps.toFixed(0).padStart(10) +
        String(r.p50).padStart(9) +
        String(r.p99).padStart(9) +
        String(r.errors).padStart(8) +
        (r.cpuMicros === undefined ? '-' : r.cpuMicros.toFixed(0)).padStart(12),
    );
  }
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  const show = ({ median, min, max }: Ratio) =>
    `${median.toFixed(2)}  (rounds ${min.toFixed(2)}–${max.toFixed(2)})`;
  const refresh = by('POST /auth/refresh').rps;
  console.log('\nratios (median of the rounds)');
  console.log(
    `  guarded / bare route      ${show(ratios.guarded)}  target >= 0.50: ${verdict(ratios.guarded.median >= 0.5)}`,
  );
  if (ratios.guardedByCpu && ratios.shellByCpu && ratios.authByCpu) {
    console.log(`  guarded / bare, by CPU    ${show(ratios.guardedByCpu)}`);
    console.log(`    of which the service's shell (public / bare)    ${show(ratios.shellByCpu)}`);
    console.log(`    and what /users/me adds (guarded / public)     ${show(ratios.authByCpu)}`);
  }
  console.log(
    `  login / raw argon2        ${show(ratios.login)}  target >= 0.90: ${verdict(ratios.login.median >= 0.9)}`,
  );
  console.log(
    `  refresh rotations         ${refresh.toFixed(0)}/s  target >= 500/s: ${verdict(refresh >= 500)}`,
  );
  const loginCpu = by('POST /auth/login').cpuMicros;
  const verifyCpu = by('raw argon2').cpuMicros;
  if (loginCpu !== undefined && verifyCpu !== undefined) {
    // Where a login's time goes: what the service spends beyond the hash (PostgreSQL's own CPU,
    // in other processes, is not counted).
    console.log(
      `\n  CPU per login ${(loginCpu / 1000).toFixed(1)} ms in the service, per raw verify ` +
        `${(verifyCpu / 1000).toFixed(1)} ms: ${((loginCpu - verifyCpu) / 1000).toFixed(1)} ms beyond argon2`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
