import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadAppConfig } from '../../src/config/app-config';
import { environmentSchema } from '../../src/config/config.schema';
import { ROOT } from '../support/run';

/**
 * No Docker engine runs here, so the container files are checked against each other, the
 * configuration schema and the README instead of being built.
 */
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
const dockerfile = read('Dockerfile');
const packageJson = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};
interface ComposeService {
  image?: string;
  build?: string | { context: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  ports?: string[];
  stop_grace_period?: string;
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const configVariables = Object.keys(environmentSchema.shape);

describe('Dockerfile', () => {
  const stages = dockerfile.match(/^FROM .+$/gm) ?? [];
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('is multi-stage, on the Node major the package supports', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const minimumMajor = Number(/(\d+)/.exec(packageJson.engines.node)?.[1]);
    for (const stage of stages) {
      expect(Number(/node:(\d+)/.exec(stage)?.[1])).toBeGreaterThanOrEqual(minimumMajor);
    }
  });

  it('runs the built service as an unprivileged user, with the migrations it applies at start', () => {
    const user = /^USER (\S+)$/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(runtime).toMatch(/COPY --from=build \/app\/prisma\/migrations \.\/prisma\/migrations/);
    expect(runtime).toMatch(/ENV NODE_ENV=production/);
    expect(runtime).toMatch(/HEALTHCHECK [^]*\/health\/live/);
  });

  it('builds with the same commands as the README', () => {
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(packageJson.scripts.start).toBe('node dist/main.js');
  });
});

describe('docker-compose.yml', () => {
  const { db, auth } = compose.services;
  const exposed = Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1]);

  it('runs PostgreSQL with a health check, and the service from the Dockerfile once it is healthy', () => {
    expect(db.image).toMatch(/^postgres:\d+/);
    expect(db.healthcheck?.test).toEqual(
      expect.arrayContaining([expect.stringMatching(/pg_isready/)]),
    );
    expect(auth.build).toBe('.');
    expect(auth.depends_on).toEqual({ db: { condition: 'service_healthy' } });
  });

  it('connects the service to that database, in production mode, on the exposed port', () => {
    const environment = auth.environment ?? {};
    expect(environment.NODE_ENV).toBe('production');
    expect(environment.DATABASE_URL).toMatch(/^postgresql:\/\/[^@]+@db:5432\/auth$/);
    expect(db.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(auth.ports).toEqual([`${exposed}:${exposed}`]);
  });

  it('lets the service serve out its shutdown delay and drain before Docker kills it', () => {
    const { shutdownDelaySeconds } = loadAppConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://auth:password@db:5432/auth',
      JWT_SECRET: 'a-deployment-test-secret-of-32-bytes-or-more',
    }).http;
    const grace = Number(/^(\d+)s$/.exec(auth.stop_grace_period ?? '')?.[1]);
    // Requests in flight end within 5 s (database timeouts), 15 s for a slow client's upload.
    expect(grace).toBeGreaterThanOrEqual(shutdownDelaySeconds + 15);
  });

  it('sets only variables the service knows, and requires a JWT secret', () => {
    const environment = auth.environment ?? {};
    for (const name of Object.keys(environment)) expect(configVariables).toContain(name);
    expect(environment.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/);
  });
});

describe('README', () => {
  it('gives the two commands and documents the compose workflow that matches the files', () => {
    expect(readme).toMatch(/^npm ci\b/m);
    expect(readme).toMatch(/^npm start\b/m);
    expect(readme).toMatch(/^npm test\b/m);
    expect(readme).toContain('docker compose up --build');
    expect(readme).toContain(`port ${Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1])}`);
    expect(readme).toMatch(
      /export POSTGRES_PASSWORD=\$\(npm run -s secrets -- token\) JWT_SECRET=/,
    );
  });

  it('documents every configuration variable the service reads', () => {
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Secrets'));
    for (const name of configVariables) expect(table).toContain(`\`${name}\``);
  });
});
