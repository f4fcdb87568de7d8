import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_HINT, findChromium } from '../../scripts/chromium-bin.mjs';
import { Dashboard } from '../../src/dashboard/dashboard.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { memoryScheduler } from './memory-scheduler.js';

// The dashboard in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): type the token, click "Run now", see the run in the
// job's history; stored markup shows as text and never runs.

const TOKEN = 'browser-test-token-0001';
let scheduler: Scheduler;
let dashboard: Dashboard;
let browser: Browser;
const ran: string[] = [];

beforeAll(async () => {
  const executablePath = findChromium();
  if (executablePath === null) throw new Error(CHROMIUM_HINT);
  scheduler = memoryScheduler();
  await scheduler.register({ name: 'send-report', handler: () => void ran.push('send-report') });
  await scheduler.register({
    name: 'import-feed',
    schedule: '0 */6 * * *',
    retry: false,
    handler: () => Promise.reject(new SchedkitError('E_HANDLER', '<script>window.__xss = true</script> feed answered 503')),
  });
  await scheduler.start();
  dashboard = new Dashboard({ source: scheduler, port: 0, token: TOKEN });
  await dashboard.start();
  // --no-sandbox: Chromium's sandbox needs user namespaces, which a root CI container does not give.
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'], timeout: 60_000 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await scheduler?.stop();
});

describe('the dashboard in Chromium', () => {
  it('clicking "Run now" with the token runs the job, and the run appears in its history', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(dashboard.url);
    await page.fill('#token', TOKEN);
    await page.click('tr[data-job="send-report"] button[data-action="trigger"]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'done', undefined, { timeout: 10_000 });
    expect(ran).toEqual(['send-report']);
    // The history of the job, at its link's address, shows the run. Followed with goto, not a click:
    // the page reloads itself after the change, and a click during that reload would be lost.
    const href = await page.locator('tr[data-job="send-report"] a').getAttribute('href');
    expect(href).toBe('job?name=send-report');
    await page.goto(new URL(href!, dashboard.url).href);
    for (let i = 0; i < 50; i++) {
      if ((await page.locator('#history .outcome.success').count()) > 0) break;
      await page.waitForTimeout(100);
      await page.reload();
    }
    expect(await page.locator('#history .outcome.success').count()).toBe(1);
    // The token stayed in this tab's sessionStorage, never in a cookie.
    expect(await page.context().cookies()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('without the token a click is refused and says why; nothing runs', async () => {
    const page = await browser.newPage();
    await page.goto(dashboard.url);
    await page.fill('#token', '');
    await page.click('tr[data-job="import-feed"] button[data-action="trigger"]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('E_UNAUTHORIZED') === true, undefined, { timeout: 10_000 });
    expect(await scheduler.history('import-feed')).toEqual([]);
    await page.close();
  }, 30_000);

  it('an error text with markup is shown as text and its script never runs', async () => {
    await scheduler.trigger('import-feed');
    const page = await browser.newPage();
    for (let i = 0; i < 50; i++) {
      await page.goto(dashboard.url);
      if ((await page.locator('tr[data-job="import-feed"] .error').textContent())?.includes('feed answered 503') === true) break;
      await page.waitForTimeout(100);
    }
    expect(await page.locator('tr[data-job="import-feed"] .error').textContent()).toBe('<script>window.__xss = true</script> feed answered 503');
    expect(await page.evaluate(() => (window as unknown as { __xss?: boolean }).__xss)).toBeUndefined();
    await page.close();
  }, 30_000);
});
