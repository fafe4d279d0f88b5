import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

/**
 * A request's logger, made only when something is actually logged. Fastify gives every request a
 * child logger carrying its request id, and a pino child costs an allocation and a serialisation of
 * its bindings; most requests log nothing at the levels production runs at.
 */
export class LazyChildLogger {
  private instance: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.instance?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  isLevelEnabled(level: Level): boolean {
    return (this.instance ?? this.parent).isLevelEnabled(level);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.real().child(bindings, options);
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    const log: (...values: unknown[]) => void = this.real()[level];
    log.apply(this.instance, args);
  }

  private real(): Logger {
    return (this.instance ??= this.parent.child(this.bindings, this.options));
  }
}
