import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
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
 * The client's IP address: the socket's, or X-Forwarded-For's when the request came through a
 * TRUST_PROXY proxy (Fastify's trustProxy, trustedProxies below, picks the entry). An entry is
 * text a proxy passed on, so it must be an IP address: one with a port (`203.0.113.9:1234`,
 * `[2001:db8::1]:443`, as some proxies write it) counts as the address; anything else (a proxy
 * passing on what its client wrote) counts as the proxy's own address, the socket's, never as
 * stored text or a budget of its own.
 */
export function clientIp(request: FastifyRequest): string | null {
  const socketAddress = request.socket.remoteAddress ?? null;
  const forwarded = request.ip;
  if (forwarded === socketAddress) return socketAddress;
  const address = forwarded ? withoutPort(forwarded) : '';
  return isIP(address) ? address : socketAddress;
}

/**
 * Fastify's trustProxy for TRUST_PROXY: whether an address (the socket's, then X-Forwarded-For's
 * entries from the right) is a trusted proxy's. A proxy that writes its hop as ip:port is judged
 * by the address, or the walk would stop at it and take that proxy for the client.
 */
export function trustedProxies(list: readonly string[]): (address: string, hop: number) => boolean {
  const trusted = proxyAddr.compile([...list]);
  return (address, hop) => trusted(withoutPort(address), hop);
}

function withoutPort(address: string): string {
  const match = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(address);
  return match ? match[1] : address;
}

/** The User-Agent (truncated), and the client IP (clientIp). */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    userAgent:
      typeof userAgent === 'string' ? truncate(headerText(userAgent), USER_AGENT_MAX) : null,
    ip: clientIp(request),
  };
}

/** The caller's ClientInfo, as a route handler parameter. */
export const Client = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  clientInfo(context.switchToHttp().getRequest<FastifyRequest>()),
);
