import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { API_HEADERS } from '../http/security-headers';
import { NO_SUCH_RESOURCE, PROBLEM_CONTENT_TYPE, type ErrorCode } from './error-codes';
import { problem } from './problem-details.filter';

/**
 * Errors Node's HTTP parser raises before a request exists (headers too large, a request too
 * slow, bytes that are not HTTP), answered as problem+json too, on the raw socket, which is then
 * closed. Fastify's default answer is its own JSON shape.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail]: [number, ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'payload_too_large', 'The request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request took too long to arrive']
        : [400, 'validation_failed', 'The request is not valid HTTP'];
  writeRawProblem(socket, status, code, detail);
}

/**
 * A request whose `Expect` is not `100-continue`: 417 as problem+json, where Node would answer a
 * bare 417 (no route runs for it). The connection is closed, as its body may follow.
 */
export function expectationFailed(_request: IncomingMessage, response: ServerResponse): void {
  const detail = 'Only "Expect: 100-continue" is supported';
  const { headers, body } = rawProblem(417, 'validation_failed', detail);
  response.writeHead(417, headers).end(body);
}

/**
 * A `CONNECT` request (a proxy tunnel): no route serves it, so it is answered as any unknown route
 * is, 404 problem+json, where Node would close the connection without a word. Node hands the
 * socket over for a tunnel, so the answer goes on it raw and the connection is closed.
 */
export function connectNotFound(_request: IncomingMessage, socket: Socket): void {
  writeRawProblem(socket, 404, 'not_found', NO_SUCH_RESOURCE);
}

/** Writes a problem response on a socket no longer managed by Node's HTTP server, and closes it. */
function writeRawProblem(socket: Socket, status: number, code: ErrorCode, detail: string): void {
  if (socket.writable) {
    const { headers, body } = rawProblem(status, code, detail);
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('')}\r\n${body}`);
  }
  socket.destroy();
}

/** A problem response with the few headers every answer outside Fastify carries. */
function rawProblem(status: number, code: ErrorCode, detail: string) {
  const body = JSON.stringify(problem(code, detail, status));
  const headers = {
    ...API_HEADERS,
    'Content-Type': PROBLEM_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Connection: 'close',
  };
  return { headers, body };
}
