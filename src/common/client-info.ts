import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who is on the other end of a request, as sessions and audit events record it. */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

const USER_AGENT_MAX = 512;

/**
 * The User-Agent (truncated), and the client IP: the socket's, or X-Forwarded-For's when the
 * request came through a TRUST_PROXY proxy (Fastify's trustProxy decides).
 */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, USER_AGENT_MAX) : null,
    ip: request.ip ?? null,
  };
}

/** The caller's ClientInfo, as a route handler parameter. */
export const Client = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  clientInfo(context.switchToHttp().getRequest<FastifyRequest>()),
);
