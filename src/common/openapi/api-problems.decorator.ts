import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_CODES, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors/error-codes';

/**
 * Documents a route's error responses: for each status, the problem codes it may carry, as
 * application/problem+json (the Problem schema, registered in openapi.ts). `[status, code]`
 * overrides a code's default status.
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
      ApiResponse({
        status,
        description: codes.map((code) => `\`${code}\``).join(', '),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
      }),
    ),
  );
}
