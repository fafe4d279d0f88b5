import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { PinoNestLogger } from './pino-nest-logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('debug', stream), lines };
}

describe('logging', () => {
  it('redacts credentials wherever they appear in a logged object', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer abc.def.ghi', 'x-api-key': 'ak_live_secret' } },
        body: { email: 'a@b.c', password: 'hunter2hunter2', refreshToken: 'rt_secret' },
      },
      'request',
    );
    const text = lines.join('');
    for (const secret of ['abc.def.ghi', 'ak_live_secret', 'hunter2hunter2', 'rt_secret']) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(text).body.email).toBe('a@b.c');
  });

  it('writes Nest’s log lines with their level and context', () => {
    const { logger, lines } = capture();
    const nest = new PinoNestLogger(logger);
    nest.log('started', 'Users');
    nest.warn('careful', 'Users');
    const [info, warn] = lines.map((line) => JSON.parse(line));
    expect(info).toMatchObject({ msg: 'started', context: 'Users', level: 30 });
    expect(warn).toMatchObject({ msg: 'careful', level: 40 });
  });

  it('keeps the stack Nest passes with an error', () => {
    const { logger, lines } = capture();
    new PinoNestLogger(logger).error('failed', 'Error: x\n    at y', 'Errors');
    expect(JSON.parse(lines[0])).toMatchObject({
      msg: 'failed',
      stack: 'Error: x\n    at y',
      context: 'Errors',
    });
  });
});
