import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dashboard } from '../../src/dashboard/dashboard.js';
import { dashboardModule } from '../../modules/dashboard.module.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { until } from '../helpers/fixtures.js';
import { memoryScheduler } from './memory-scheduler.js';

// The dashboard over HTTP on a real scheduler (memory backend): pages,
// escaping, the token rules and the changes. The browser test
// (dashboard.browser.test.ts) clicks through the same pages in Chromium.

const TOKEN = 'a-token-of-24-characters';
const XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
let scheduler: Scheduler;
let dashboard: Dashboard;
let readOnly: Dashboard;
let base = '';
const ran: unknown[] = [];

beforeAll(async () => {
  scheduler = memoryScheduler();
  await scheduler.register({ name: 'nightly-export', schedule: '0 3 * * *', handler: () => {} });
  await scheduler.register({ name: 'greet', tenantId: 'acme', handler: (ctx) => void ran.push(ctx.params) });
  await scheduler.register({ name: 'broken', retry: false, handler: () => Promise.reject(new SchedkitError('E_HANDLER', `failed: ${XSS}`)) });
  await scheduler.start();
  dashboard = new Dashboard({ source: scheduler, port: 0, token: TOKEN });
  base = (await dashboard.start()).url;
  readOnly = new Dashboard({ source: scheduler, port: 0 });
  await readOnly.start();
});

afterAll(async () => {
  await dashboard?.stop();
  await readOnly?.stop();
  await scheduler?.stop();
});

const post = (url: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }): Promise<Response> =>
  fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });

describe('Dashboard over HTTP', () => {
  it('listens on 127.0.0.1 by default and serves the jobs page under a strict CSP', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(base);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const page = await response.text();
    expect(page).toMatch(/<td><a href="job\?name=nightly-export">nightly-export<\/a><\/td>/);
    expect(page).toContain('cron 0 3 * * *');
    expect(page).toMatch(/<a href="job\?name=greet&amp;tenant=acme">greet<\/a><\/td><td>acme<\/td>/);
    expect(page).toContain('data-action="trigger"');
  });

  it('a change needs the token in a header; a read-only dashboard has no buttons and refuses changes', async () => {
    expect((await post(`${base}api/trigger`, { name: 'greet', tenant: 'acme' }, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await post(`${base}api/trigger`, { name: 'greet', tenant: 'acme' }, { authorization: 'Bearer a-token-of-24-characterX', 'content-type': 'application/json' })).status).toBe(401);
    expect((await post(`${base}api/trigger`, { name: 'greet', tenant: 'acme' }, { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' })).status).toBe(415);
    // A cookie is never a credential.
    expect((await post(`${base}api/trigger`, { name: 'greet', tenant: 'acme' }, { cookie: `token=${TOKEN}`, 'content-type': 'application/json' })).status).toBe(401);
    expect(ran).toEqual([]);
    const page = await (await fetch(readOnly.url)).text();
    expect(page).not.toContain('data-action=');
    expect(page).toContain('Read-only');
    const refused = await post(`${readOnly.url}api/trigger`, { name: 'greet', tenant: 'acme' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'E_READ_ONLY' } });
  });

  it('trigger runs the job with its params; the job page shows the run in its history', async () => {
    const response = await post(`${base}api/trigger`, { name: 'greet', tenant: 'acme', params: { who: 'dashboard' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, run: { created: true } });
    await until('greet ran', () => ran.length === 1);
    expect(ran[0]).toEqual({ who: 'dashboard' });
    let page = '';
    for (let i = 0; i < 100 && !page.includes('class="outcome success"'); i++) page = await (await fetch(`${base}job?name=greet&tenant=acme`)).text();
    expect(page).toContain('class="outcome success"');
    expect((await post(`${base}api/trigger`, { name: 'nope' })).status).toBe(404);
  });

  it('pause and resume change the status; cancel removes a pending run', async () => {
    expect((await post(`${base}api/pause`, { name: 'nightly-export' })).status).toBe(200);
    expect(await (await fetch(`${base}job?name=nightly-export`)).text()).toContain('<dd class="status paused">paused</dd>');
    expect((await post(`${base}api/resume`, { name: 'nightly-export' })).status).toBe(200);
    expect(await (await fetch(`${base}job?name=nightly-export`)).text()).not.toContain('status paused');
    const later = await scheduler.trigger('greet', { tenantId: 'acme', id: 'later-1', at: new Date(Date.now() + 3_600_000) });
    expect(await (await fetch(base)).text()).toContain('data-run="later-1"');
    const cancelled = await post(`${base}api/cancel`, { id: later.id, tenant: 'acme' });
    expect(await cancelled.json()).toMatchObject({ ok: true, run: { id: 'later-1', outcome: 'cancelled' } });
    expect(await (await fetch(base)).text()).not.toContain('data-run="later-1"');
    // Cancelling it again changes nothing and says so.
    expect(await (await post(`${base}api/cancel`, { id: 'later-1', tenant: 'acme' })).json()).toMatchObject({ ok: true, run: { outcome: 'cancelled' } });
    expect((await post(`${base}api/cancel`, { id: 'never-was', tenant: 'acme' })).status).toBe(404);
  });

  it('escapes every stored string: params and error texts with markup show as text', async () => {
    await scheduler.trigger('broken');
    await scheduler.trigger('greet', { tenantId: 'acme', id: 'xss-1', at: new Date(Date.now() + 3_600_000), params: { note: XSS } });
    let page = '';
    for (let i = 0; i < 100 && !page.includes('failed: &lt;script&gt;'); i++) page = await (await fetch(base)).text();
    expect(page).toContain('failed: &lt;script&gt;window.__xss = 1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__xss = 2&quot;&gt;');
    expect(page).toContain('&quot;note&quot;:&quot;&lt;script&gt;');
    expect(page).not.toContain('<script>window.__xss');
    expect(page).not.toContain('<img src=x');
    const scripts = page.match(/<script[^>]*>/g) ?? [];
    expect(scripts).toHaveLength(1);
  });

  it('answers an unknown page 404 and an unknown method 405; refuses bad options with E_CONFIG', async () => {
    expect((await fetch(`${base}nothing`)).status).toBe(404);
    expect((await fetch(`${base}job?name=missing`)).status).toBe(404);
    expect((await fetch(base, { method: 'DELETE' })).status).toBe(405);
    expect(() => new Dashboard({ source: scheduler, token: 'short' })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => new Dashboard({ source: scheduler, port: 70_000 })).toThrow(/port must be an integer/);
    expect(() => new Dashboard({ source: {} as never })).toThrow(/source must be a Scheduler/);
    expect(() => dashboardModule({ port: -1 })).toThrow(/port must be an integer/);
    expect(() => dashboardModule({ colour: 'red' } as never)).toThrow(/unknown option "colour"/);
  });
});
