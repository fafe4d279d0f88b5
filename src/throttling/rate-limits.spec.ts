import { RateLimits } from './rate-limits.service';

describe('RateLimits.network', () => {
  it.each([
    ['an IPv4 address', '192.0.2.7', '192.0.2.7'],
    ['an IPv4-mapped IPv6 address, as its IPv4 address', '::ffff:192.0.2.7', '192.0.2.7'],
    ['a NAT64-translated IPv4 client, as its IPv4 address', '64:ff9b::c000:207', '192.0.2.7'],
    ['an IPv6 address, as its /64', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['a compressed IPv6 address', '2001:db8::1', '2001:db8:0:0::/64'],
    ['the IPv6 loopback', '::1', '0:0:0:0::/64'],
    ['something that is not an address, unchanged', 'unknown', 'unknown'],
  ])('counts %s', (_what, ip, network) => {
    expect(RateLimits.network(ip)).toBe(network);
  });

  it('puts two addresses of one /64 together and the next /64 apart', () => {
    const home = RateLimits.network('2001:db8:1:2::1');
    expect(RateLimits.network('2001:db8:1:2:ffff::9')).toBe(home);
    expect(RateLimits.network('2001:db8:1:3::1')).not.toBe(home);
  });
});
