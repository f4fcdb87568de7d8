import { describe, expect, it } from 'vitest';
import { GrantDating, grantOf, instanceChannel, newTicket, parseGrant } from '../../../src/lock/redlock/lock-grant.js';

describe('lock grants (one master)', () => {
  it('a ticket names its instance and the TTL its waiter asked for; a grant adds the fence', () => {
    const ticket = newTicket('8d3f0c1e-0000-4000-8000-000000000000', 7, 30_000);
    expect(ticket).toBe('8d3f0c1e-0000-4000-8000-000000000000.7/30000');
    expect(grantOf(ticket, 42)).toEqual({ ticket, value: `${ticket}#42`, fence: 42 });
    expect(parseGrant(`${ticket}#42`)).toEqual({ ticket, value: `${ticket}#42`, fence: 42 });
    expect(instanceChannel('{p}:lock-wake', 'abc')).toBe('{p}:lock-wake:abc');
  });

  it('reads a bare ticket (a wake-up) as no grant', () => {
    expect(parseGrant('8d3f0c1e-0000-4000-8000-000000000000.7/30000')).toBeUndefined();
    expect(parseGrant('an-older-ticket')).toBeUndefined();
    expect(parseGrant('t#0')).toBeUndefined();
    expect(parseGrant('t#x')).toBeUndefined();
  });

  describe('GrantDating', () => {
    it('dates a grant from the first call that may have queued the ticket, until a reply comes', () => {
      const dating = new GrantDating();
      expect(dating.since(5)).toBeUndefined(); // nothing sent: no grant can be ours
      dating.sending(1_000);
      dating.sending(1_500); // a later call: the first one queued the ticket
      expect(dating.since(5)).toBe(1_000);
    });

    it('dates it from the latest reply that showed the ticket waiting with a lower counter', () => {
      const dating = new GrantDating();
      dating.sending(1_000);
      dating.waiting(1_000, 10);
      dating.waiting(2_000, 12);
      expect(dating.since(13)).toBe(2_000);
    });

    it('calls a grant stale when a reply from after it found the ticket waiting', () => {
      const dating = new GrantDating();
      dating.sending(1_000);
      dating.waiting(3_000, 13);
      // The grant's INCR took the counter to 13 before that call saw it: the
      // call came after the grant and found the ticket queued again (expired).
      expect(dating.since(13)).toBeUndefined();
      expect(dating.since(12)).toBeUndefined();
      expect(dating.since(14)).toBe(3_000);
    });
  });
});
