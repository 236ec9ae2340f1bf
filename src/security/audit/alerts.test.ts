// Unusual-access alerts: canary studies, a principal's volume against its own usual, repeated failures.
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../services/audit-port.js';
import { AccessAlerts } from './alerts.js';

const noSink = { record: async () => undefined };
const opts = { canaryStudies: ['9.9.9'], volumeFloor: 100, volumeFactor: 10, failures: 3, failureWindowSeconds: 60 };
const who = { kind: 'user' as const, username: 'carol', door: 'dicomweb' as const, ip: '10.1.1.1' };
const retrieve = (instances: number, studies = ['1.2.3']): AuditEvent => ({ action: 'retrieve', outcome: 'success', principal: who, studies, instances });

describe('access alerts', () => {
  it('raise an alert when a canary study is read, naming who read it', () => {
    const a = new AccessAlerts(noSink, opts);
    expect(a.check(retrieve(1, ['9.9.9']))).toEqual([expect.objectContaining({ action: 'alert', target: 'canary-access', studies: ['9.9.9'], principal: who })]);
    expect(a.check(retrieve(1))).toEqual([]);
  });

  it('raise one alert at the Nth failure within the window, not before', () => {
    let t = 0;
    const a = new AccessAlerts(noSink, opts, () => t);
    const fail: AuditEvent = { action: 'login', outcome: 'failure', principal: who, reason: 'bad-password' };
    expect(a.check(fail)).toEqual([]);
    t += 61_000; // the first failure leaves the window
    expect(a.check(fail)).toEqual([]);
    expect(a.check(fail)).toEqual([]);
    expect(a.check(fail)).toEqual([expect.objectContaining({ target: 'repeated-failures' })]);
  });

  it('judge volume against the floor first, then against the principal\'s own usual hours', () => {
    let t = 0;
    const a = new AccessAlerts(noSink, opts, () => t);
    expect(a.check(retrieve(100))).toEqual([]);
    expect(a.check(retrieve(1))).toEqual([expect.objectContaining({ target: 'unusual-volume' })]);
    expect(a.check(retrieve(1000))).toEqual([]); // one alert per hour
    // A principal that usually moves a lot is judged by its own usual, not the floor.
    const busy = new AccessAlerts(noSink, { ...opts, volumeFloor: 600, volumeFactor: 3 }, () => t);
    for (let h = 0; h < 48; h++) { t = h * 3_600_000; expect(busy.check(retrieve(500))).toEqual([]); }
    t = 48 * 3_600_000;
    expect(busy.check(retrieve(1400))).toEqual([]);
    expect(busy.check(retrieve(200))).toEqual([expect.objectContaining({ target: 'unusual-volume' })]);
  });
});
