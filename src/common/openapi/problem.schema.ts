import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors/error-codes';

/** RFC 9457 problem details, as every error response carries it. */
export const ProblemSchema = z
  .object({
    type: z.string().meta({ example: 'urn:auth-service:problem:invalid_token' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .meta({
        description:
          'Present exactly when code is validation_failed: the offending fields ("" for the ' +
          'body as a whole, e.g. when it is not JSON)',
      }),
  })
  .meta({ id: 'Problem' });
