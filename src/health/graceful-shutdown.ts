import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/**
 * Where the service is in a shutdown, and its log lines. From the moment one begins, readiness is
 * 503 (terminus, whose hook runs after this one: its module is imported by this one's) and every
 * response asks its client to close the connection (see app.setup), so a load balancer stops
 * sending requests and keep-alive connections move to other instances. After SIGTERM, terminus
 * then waits `http.shutdownDelaySeconds` while requests are still served; only after that does
 * Nest stop accepting connections and finish the requests in flight.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private shuttingDown = false;

  constructor(private readonly config: AppConfig) {}

  /** True from the start of a shutdown: responses then carry `Connection: close`. */
  get draining(): boolean {
    return this.shuttingDown;
  }

  beforeApplicationShutdown(signal?: string): void {
    this.shuttingDown = true;
    const delay = signal === 'SIGTERM' ? this.config.http.shutdownDelaySeconds : 0;
    const serving = delay > 0 ? `serving ${delay} s more, then ` : '';
    this.logger.log(
      `Shutting down${signal ? ` on ${signal}` : ''}: not ready, ${serving}finishing the requests in flight`,
    );
  }

  onApplicationShutdown(): void {
    this.logger.log('Requests in flight answered; closing the database connections');
  }
}
