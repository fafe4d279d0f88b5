import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * Documents each field of a query-string schema as an OpenAPI query parameter: Nest's swagger
 * module reads a body's schema from @Body({ schema }) but nothing from @Query({ schema }). The
 * parameters are the schema's input side (what a client sends), with the same limits and
 * defaults the validation applies. A `pattern` is left out where a `format` says the same
 * (uuid, date-time), as client generators may compile it differently.
 */
export function ApiQueryFields(schema: z.ZodObject<Record<string, z.ZodType>>): MethodDecorator {
  const fields = Object.entries(schema.shape);
  return applyDecorators(
    ...fields.map(([name, field]) => {
      const json = z.toJSONSchema(field, {
        target: 'openapi-3.0',
        io: 'input',
      }) as { description?: string; format?: string; pattern?: string; default?: unknown };
      const { description, ...parameterSchema } = json;
      if (parameterSchema.format) delete parameterSchema.pattern;
      // What an absent parameter becomes: toJSONSchema loses a default behind a preprocess.
      const absent = field.safeParse(undefined);
      if (absent.success && absent.data !== undefined) parameterSchema.default = absent.data;
      const options = {
        name,
        required: !absent.success,
        description,
        schema: parameterSchema,
      };
      return ApiQuery(options);
    }),
  );
}
