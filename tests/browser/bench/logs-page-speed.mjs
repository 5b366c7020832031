// Measures the logs page with 100,000 logs in range (a benchmark: prints figures, asserts nothing).
// Run: cargo build --release && CARGO_TARGET_DIR=… node tests/browser/bench/logs-page-speed.mjs
import { startTether, launchChromium, TOKEN, ADMIN_PASSWORD } from '../harness.mjs';
const tether = await startTether();
const now = Date.now();
for (let b = 0; b < 50; b++) {
  const recs = [];
  for (let i = 0; i < 2000; i++) {
    const n = b * 2000 + i;
    recs.push({ timeUnixNano: String(BigInt(now - 3000000 + n * 25) * 1000000n), severityText: n % 20 === 0 ? 'ERROR' : 'INFO',
      body: { stringValue: `GET /api/cart/${n} completed in ${n % 300}ms for user${n % 5000}@example.com request_id=${n.toString(16)}` },
      attributes: [{ key: 'sessionId', value: { stringValue: `sess-${n % 700}` } }, { key: 'posthogDistinctId', value: { stringValue: `user${n % 5000}` } }] });
  }
  const r = await fetch(`${tether.base}/v1/logs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] }, scopeLogs: [{ logRecords: recs }] }] }) });
  if (r.status !== 200) throw new Error(await r.text());
}
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await page.goto(`${tether.base}/login`);
await page.fill('input[type=password]', ADMIN_PASSWORD);
await page.click('button[type=submit]');
await page.waitForSelector('.log-row');
const times = [];
for (let i = 0; i < 5; i++) {
  const t = Date.now();
  await page.goto(`${tether.base}/logs?from=-1h`);
  await page.waitForSelector('.log-row');
  times.push(Date.now() - t);
}
times.sort((a, b) => a - b);
console.log(`100,000 logs in range: first rows painted in p50 ${times[2]} ms (min ${times[0]}, max ${times[4]}) from navigation`);
const strip = await page.textContent('[data-testid=impact]');
console.log('strip:', strip);
for (let i = 0; i < 4; i++) { await page.click('text=Load older logs'); await page.waitForTimeout(300); }
const rendered = await page.locator('.log-row').count();
await page.evaluate(() => { const el = document.querySelector('.log-list'); el.scrollTop = el.scrollHeight; });
await page.waitForTimeout(300);
console.log(`after loading 1,000 rows: ${rendered} row elements in the DOM at the top; last row visible after scrolling: ${await page.locator('.log-row').last().isVisible()}`);
await browser.close(); tether.stop();
