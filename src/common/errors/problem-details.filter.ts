import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { firstLine, isDatabaseUnavailableError } from '../../database/prisma-errors';
import { ApiException, type FieldError } from './api-exception';
import { challengeFor } from './challenge';
import {
  ERROR_CODES,
  MALFORMED_URL,
  NO_SUCH_RESOURCE,
  PROBLEM_CONTENT_TYPE,
  problemType,
  type ErrorCode,
} from './error-codes';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
}

/** Seconds a client should wait before retrying while the database is away. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Errors Fastify raises before a route runs (body parsing, limits), by their code. */
const FASTIFY_ERRORS: Record<string, { code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'payload_too_large',
    detail: 'The request body is too large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    detail: 'Send the request body as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'validation_failed',
    detail: 'Content-Length does not match the body',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'validation_failed',
    detail: 'The body is not valid JSON',
  },
  FST_ERR_CTP_INVALID_TYPE: { code: 'unsupported_media_type', detail: 'Invalid Content-Type' },
  // A path parameter longer than any id: it names no resource (as a non-UUID id does not).
  FST_ERR_MAX_PARAM_LENGTH: { code: 'not_found', detail: NO_SUCH_RESOURCE },
  FST_ERR_BAD_URL: { code: 'validation_failed', detail: MALFORMED_URL },
};

/** For HttpExceptions raised by Nest itself (unknown route, …) and other libraries. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'invalid_token',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_attempts',
  503: 'service_unavailable',
};

type ErrorLog = Pick<Logger, 'warn' | 'error'>;

interface Rendered {
  problem: ProblemDetails;
  headers: Record<string, string>;
}

/** The problem body for `code`; the one place a problem's shape is written. */
export function problem(
  code: ErrorCode,
  detail: string,
  status: number = ERROR_CODES[code].status,
  errors?: FieldError[],
): ProblemDetails {
  const body: ProblemDetails = {
    type: problemType(code),
    title: ERROR_CODES[code].title,
    status,
    detail,
    code,
  };
  // A client can always list what was wrong: a problem with the body as a whole (not JSON, a
  // duplicated key) is reported against the body itself, field "".
  if (code === 'validation_failed') body.errors = errors ?? [{ field: '', message: detail }];
  return body;
}

/**
 * Renders every error as RFC 9457 problem details (application/problem+json) with a `code` from
 * the catalogue. Nothing else in the service shapes an error response. Unexpected errors become
 * a bare 500, logged once here with their stack; no stack, SQL or secret reaches a client.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    this.catchReply(exception, host.switchToHttp().getResponse<FastifyReply>());
  }

  /** Answers `reply` with the problem for `exception` (also used for Fastify's framework errors). */
  catchReply(exception: unknown, reply: FastifyReply): void {
    // The request's own logger, so the line carries its request id.
    const log: ErrorLog = {
      warn: (message) => reply.log.warn({ context: 'Errors' }, message),
      error: (message) => reply.log.error({ context: 'Errors' }, message),
    };
    const { problem: body, headers } = this.render(exception, log);
    if (body.status === 401) {
      headers['www-authenticate'] = challengeFor(body.code, reply.request);
    }
    if (reply.sent) return;
    void reply.status(body.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(body);
  }

  render(exception: unknown, log: ErrorLog = this.logger): Rendered {
    if (exception instanceof ApiException) {
      const body = problem(
        exception.code,
        exception.detail,
        exception.getStatus(),
        exception.problem.errors,
      );
      const headers: Record<string, string> = {};
      if (exception.problem.retryAfterSeconds !== undefined) {
        headers['retry-after'] = String(exception.problem.retryAfterSeconds);
      }
      return { problem: body, headers };
    }

    // Nest hands Fastify's own errors over wrapped in an HttpException, the original as `cause`.
    const source = exception instanceof HttpException ? (exception.cause ?? exception) : exception;
    const fastifyCode = (source as { code?: unknown } | null)?.code;
    const known = typeof fastifyCode === 'string' ? FASTIFY_ERRORS[fastifyCode] : undefined;
    if (known) return { problem: problem(known.code, known.detail), headers: {} };

    // Node's own error when the client closes the connection before its body is complete. It
    // has a socket error's code (ECONNRESET), but says nothing about the database.
    if (isClientAbort(source)) {
      return {
        problem: problem('validation_failed', 'The request body ended early', 400, [
          { field: '', message: 'the connection closed before the body was complete' },
        ]),
        headers: {},
      };
    }

    if (isDatabaseUnavailableError(exception)) {
      const { code } = exception as { code?: string };
      log.warn(`Database unavailable${code ? ` (${code})` : ''}: ${firstLine(exception)}`);
      return {
        problem: problem('service_unavailable', 'The database is not available; try again shortly'),
        headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
      };
    }

    const status =
      exception instanceof HttpException
        ? exception.getStatus()
        : ((exception as { statusCode?: unknown } | null)?.statusCode as number | undefined);
    if (typeof status === 'number' && (CODE_BY_STATUS[status] || (status >= 400 && status < 500))) {
      const code = CODE_BY_STATUS[status] ?? 'validation_failed';
      const detail = code === 'not_found' ? NO_SUCH_RESOURCE : ERROR_CODES[code].title;
      const headers: Record<string, string> =
        code === 'service_unavailable'
          ? { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) }
          : {};
      return { problem: problem(code, detail, CODE_BY_STATUS[status] ? status : 400), headers };
    }

    log.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return { problem: problem('internal_error', 'Something went wrong on our side'), headers: {} };
  }
}

/** The error a request's body stream raises when the client goes away (Node: "aborted"). */
function isClientAbort(error: unknown): boolean {
  const { code, message, syscall } = (error ?? {}) as Record<string, unknown>;
  return code === 'ECONNRESET' && message === 'aborted' && syscall === undefined;
}
