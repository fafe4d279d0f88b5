// @ts-check
/** @type {import('jest').Config['projects'][number]} */
const common = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: { '^.+\\.(t|j|mj|cj)s$': '<rootDir>/test/jest/esm-transformer.js' },
  // Compile ES-module packages too (see the transformer); CommonJS ones pass through.
  transformIgnorePatterns: [],
  // Prisma's generated client imports its siblings as "./x.js".
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/prisma/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
    {
      ...common,
      // Database faults and shutdown under load, each on its own PostgreSQL: `npm run test:resilience`.
      displayName: 'resilience',
      testMatch: ['<rootDir>/test/resilience/**/*.resilience-spec.ts'],
    },
  ],
  // Tests that start applications, databases and CLIs take seconds on a busy machine. This must be
  // set here: jest-circus reads only the top-level testTimeout and ignores a project's (which left
  // the e2e tests on the 5 s default). The resilience suites set 120 s themselves.
  testTimeout: 30_000,
};
