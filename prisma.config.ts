import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma's native schema engine is downloaded from binaries.prisma.sh, which is not always
// reachable. The CLI can drive any executable that speaks the engine's JSON-RPC protocol, so we
// point it at a thin bridge to the official WebAssembly build of the same engine
// (@prisma/schema-engine-wasm); see README, "How migrations work offline".
// An explicitly configured engine binary wins.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(__dirname, 'prisma', 'schema-engine');

export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: {
    path: path.join('prisma', 'migrations'),
    seed: 'tsx prisma/seed.ts',
  },
  datasource: {
    // Unset is allowed: `prisma generate` needs no database, and `npm run prisma -- …` sets it
    // (to the embedded PostgreSQL when DATABASE_URL is unset).
    url: process.env.DATABASE_URL || undefined,
  },
});
