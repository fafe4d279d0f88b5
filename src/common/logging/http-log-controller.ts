import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * One line per request, when it completes; nothing when it arrives. A health probe that succeeds
 * is logged at debug: load balancers and orchestrators probe every few seconds, and those lines
 * would bury the requests at info.
 */
export class HttpLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const log = reply.log as unknown as Logger;
    if (!error && !log.isLevelEnabled('info')) return;
    const line = {
      req: { method: request.method, url: request.url, ip: request.ip },
      res: { statusCode: reply.statusCode },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (error) log.error({ ...line, err: error }, 'request errored');
    else if (reply.statusCode < 400 && request.routeOptions.url?.startsWith('/health/')) {
      log.debug(line, 'request completed');
    } else log.info(line, 'request completed');
  }
}
