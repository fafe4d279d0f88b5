import { z } from 'zod';

/** The contract's Page<T>: one page of items and how many match in all. */
export function pageSchema<T extends z.ZodType>(item: T, id: string) {
  return z.object({ data: z.array(item), count: z.number().int() }).meta({ id });
}

export interface Page<T> {
  data: T[];
  count: number;
}
