/** A configuration problem, reported on one line that names the variable; the process exits. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
