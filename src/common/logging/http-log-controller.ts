import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { clientIp } from '../client-info';

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
      req: { method: request.method, url: withoutQueryValues(request.url), ip: clientIp(request) },
      res: { statusCode: reply.statusCode },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (error) log.error({ ...line, err: error }, 'request errored');
    else if (reply.statusCode < 400 && request.routeOptions.url?.startsWith('/health/')) {
      log.debug(line, 'request completed');
    } else log.info(line, 'request completed');
  }
}

/**
 * The URL with its query values redacted, names kept: a query string may carry a token or a
 * password a client put there by mistake (`?access_token=`, a reset link opened on this host),
 * or the email an administrator searched for.
 */
function withoutQueryValues(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const names = url
    .slice(start + 1)
    .split('&')
    .map((pair) => pair.split('=', 1)[0])
    .filter(Boolean);
  return `${url.slice(0, start)}?${names.map((name) => `${name}=[redacted]`).join('&')}`;
}
