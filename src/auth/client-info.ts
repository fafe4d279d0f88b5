import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from './sessions/sessions.service';

const USER_AGENT_MAX = 512;

/**
 * Who is on the other end, as a session records it: the User-Agent (truncated), and the client IP
 * (the socket's, or X-Forwarded-For's when the request came through a TRUST_PROXY proxy).
 */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, USER_AGENT_MAX) : null,
    ip: request.ip ?? null,
  };
}
