import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '../../src/common/decorators/public.decorator';

/** A route with a body schema, one that fails, one that is slow: the shell under every route. */
export const EchoSchema = z.strictObject({
  name: z.string().min(1),
  count: z.number().int(),
  tags: z.array(z.string()).optional(),
});

export const INTERNAL_DETAIL = 'SELECT password_hash FROM users WHERE id = 42';

@Public()
@Controller('probe')
class ProbeController {
  @Post('echo')
  echo(@Body({ schema: EchoSchema }) body: z.infer<typeof EchoSchema>) {
    return body;
  }

  @Post('no-body')
  @HttpCode(204)
  noBody(): void {}

  @Get('boom')
  boom(): never {
    throw new Error(`query failed: ${INTERNAL_DETAIL}`);
  }

  @Get('slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { done: true };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
