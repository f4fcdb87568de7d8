/**
 * Writes docs/dashboard.png, the README's picture of the dashboard: a
 * scheduler on the memory backend with a few jobs that have run (one
 * failed), one paused and a pending one-off run, shown in headless Chromium.
 *
 *   npx tsx scripts/dashboard-screenshot.ts
 */
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { SchedkitError } from '../src/errors/schedkit-error.js';
import { memoryScheduler } from '../test/dashboard/memory-scheduler.js';
import { CHROMIUM_HINT, findChromium } from './chromium-bin.mjs';

const executablePath = findChromium();
if (executablePath === null) throw new Error(CHROMIUM_HINT);
const scheduler = memoryScheduler();
await scheduler.register({ name: 'nightly-export', schedule: { cron: '0 3 * * *', tz: 'Europe/Paris' }, handler: () => {} });
await scheduler.register({ name: 'refresh-cache', schedule: { every: '30s' }, handler: () => {} });
await scheduler.register({ name: 'publish-post', tenantId: 'acme', handler: () => {} });
await scheduler.register({
  name: 'import-feed',
  schedule: '0 */6 * * *',
  retry: false,
  handler: () => Promise.reject(new SchedkitError('E_HANDLER', 'partner feed answered 503')),
});
await scheduler.start();
await scheduler.trigger('refresh-cache');
await scheduler.trigger('import-feed');
await scheduler.trigger('publish-post', { tenantId: 'acme', id: 'post-42', at: new Date(Date.now() + 3_600_000), params: { postId: 42 } });
await scheduler.pause('nightly-export');
await new Promise((resolve) => setTimeout(resolve, 500));

const dashboard = new Dashboard({ source: scheduler, port: 0, token: 'screenshot-token-000001' });
await dashboard.start();
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 560 } });
  await page.goto(dashboard.url);
  const path = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));
  await page.screenshot({ path, fullPage: true });
  console.log(`wrote ${path}`);
} finally {
  await browser.close();
  await dashboard.stop();
  await scheduler.stop();
}
