import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
} from '@nestjs/common';

/**
 * Marks a shutdown in the log: when it begins (readiness turns 503 at the same moment, see
 * @nestjs/terminus) and when the requests in flight have been answered, so an operator reading
 * the log of a rolling deploy sees where an instance stopped serving.
 */
@Injectable()
export class ShutdownLog implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');

  beforeApplicationShutdown(signal?: string): void {
    this.logger.log(
      `Shutting down${signal ? ` on ${signal}` : ''}: not ready, finishing the requests in flight`,
    );
  }

  onApplicationShutdown(): void {
    this.logger.log('Requests in flight answered; closing the database connections');
  }
}
