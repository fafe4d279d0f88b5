import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_CODES, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors/error-codes';

/** Codes answered with a Retry-After header (contract, "Conventions"). */
const RETRY_LATER: readonly ErrorCode[] = ['too_many_attempts', 'service_unavailable'];

/**
 * One documented error response: application/problem+json (the Problem schema, registered in
 * openapi.ts) carrying one of `codes`, with Retry-After where those codes have it, and
 * WWW-Authenticate on a 401 (its status: a code's default status may be overridden).
 */
export function problemResponse(codes: ErrorCode[], explanation?: string, status?: number) {
  const description = codes.map((code) => `\`${code}\``).join(', ');
  const headers = {
    ...(codes.some((code) => RETRY_LATER.includes(code)) && {
      'Retry-After': {
        description: 'Seconds to wait before trying again',
        schema: { type: 'integer' as const, minimum: 1 },
      },
    }),
    ...(status === 401 && {
      'WWW-Authenticate': {
        description:
          '`Bearer error="invalid_token"` when a token or key was refused, `Bearer` otherwise',
        schema: { type: 'string' as const },
      },
    }),
  };
  return {
    description: explanation ? `${description}: ${explanation}` : description,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
    ...(Object.keys(headers).length > 0 && { headers }),
  };
}

/** One status's error response, saying what causes it (a route's own overrides its class's). */
export function ApiProblem(status: number, codes: ErrorCode[], explanation: string) {
  return ApiResponse({ status, ...problemResponse(codes, explanation, status) });
}

/**
 * Documents a route's error responses: for each status, the problem codes it may carry.
 * `[status, code]` overrides a code's default status.
 */
export function ApiProblems(...problems: (ErrorCode | [number, ErrorCode])[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const problem of problems) {
    const [status, code] = Array.isArray(problem)
      ? problem
      : [ERROR_CODES[problem].status, problem];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, codes]) =>
      ApiResponse({ status, ...problemResponse(codes, undefined, status) }),
    ),
  );
}
