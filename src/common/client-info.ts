import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { decodeUtf8 } from './utf8';

/** Who is on the other end of a request, as sessions and audit events record it. */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

const USER_AGENT_MAX = 512;

/**
 * A header's text. Node reads header bytes as Latin-1, but a client that sends bytes beyond
 * ASCII in a User-Agent (an app's name in its own script) sends UTF-8: read as Latin-1, "Café"
 * would be stored as "CafÃ©". Bytes that are not valid UTF-8 keep the Latin-1 reading.
 */
function headerText(value: string): string {
  if (!/[\x80-\uffff]/.test(value)) return value;
  return decodeUtf8(Buffer.from(value, 'latin1')) ?? value;
}

/** At most `max` UTF-16 units, never ending in half of a surrogate pair. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/**
 * The User-Agent (truncated), and the client IP: the socket's, or X-Forwarded-For's when the
 * request came through a TRUST_PROXY proxy (Fastify's trustProxy decides).
 */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    userAgent:
      typeof userAgent === 'string' ? truncate(headerText(userAgent), USER_AGENT_MAX) : null,
    ip: request.ip ?? null,
  };
}

/** The caller's ClientInfo, as a route handler parameter. */
export const Client = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  clientInfo(context.switchToHttp().getRequest<FastifyRequest>()),
);
