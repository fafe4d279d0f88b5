import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:public';

/** Opts a route out of the global authentication guard: every other route requires a token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
