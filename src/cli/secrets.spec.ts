import { createPrivateKey, createPublicKey } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { main } from './secrets';

function runCli(args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const code = main(args, out, err);
  return { code, stdout: String(out.read() ?? ''), stderr: String(err.read() ?? '') };
}

describe('secrets CLI', () => {
  it('prints a 32-byte base64url token by default', () => {
    const { code, stdout } = runCli(['token']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(Buffer.from(stdout.trim(), 'base64url')).toHaveLength(32);
  });

  it('never prints the same token twice', () => {
    expect(runCli(['token']).stdout).not.toBe(runCli(['token']).stdout);
  });

  it.each([
    [['--bytes', '32', '--format', 'hex'], /^[0-9a-f]{64}\n$/],
    [['--bytes', '48', '--format', 'base64'], /^[A-Za-z0-9+/]{64}\n$/],
    [['--format', 'urlsafe', '--bytes', '64'], /^[A-Za-z0-9_-]{86}\n$/],
  ])('honours %j', (args, pattern) => {
    expect(runCli(['token', ...args]).stdout).toMatch(pattern);
  });

  it.each(['RS256', 'ES256'])('prints a %s PKCS#8 private key and its public key', (alg) => {
    const { code, stdout } = runCli(['keypair', '--alg', alg]);
    expect(code).toBe(0);
    const [privatePem, publicPem] = stdout.split(/(?=-----BEGIN PUBLIC KEY-----)/);
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const privateKey = createPrivateKey(privatePem);
    expect(privateKey.asymmetricKeyType).toBe(alg === 'RS256' ? 'rsa' : 'ec');
    expect(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' })).toBe(publicPem);
  });

  it.each([
    [['token', '--bytes', '16'], /--bytes must be an integer from 32 to 1024 \(got "16"\)/],
    [['token', '--bytes', 'many'], /--bytes must be an integer/],
    [['token', '--format', 'base32'], /--format must be urlsafe, hex or base64/],
    [['token', '--colour'], /Unknown option '--colour'/],
    [['keypair'], /--alg is required: RS256 or ES256/],
    [['keypair', '--alg', 'HS256'], /--alg must be RS256 or ES256 \(got "HS256"\)/],
    [['password'], /unknown command "password"/],
  ])('refuses %j with exit code 2 and a clear message', (args, message) => {
    const { code, stdout, stderr } = runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Usage:');
  });

  it('prints its usage for --help', () => {
    const { code, stdout } = runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('npm run secrets -- keypair --alg RS256|ES256');
  });
});
