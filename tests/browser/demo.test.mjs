// `tether demo` as a person would use it: open the printed shop URL in Chromium, shop, fail a
// checkout; then Tether has the shop backend's log of that failure stamped with the page's
// session (by the Rust stamping layer, not by hand), and its related errors list the page's
// exception. The background job's logs are unlinked, the seeded logs are there, and the demo
// stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchTether, launchChromium, eventually, watchCsp } from './harness.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

// A desktop Chrome user agent, and no navigator.webdriver: posthog-js ignores bots, and the
// demo page (unlike the test app) is not configured for automated browsers.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

test('a failed checkout in the demo shop links the backend log to the session and its error', async (t) => {
  const demo = await launchTether(
    ['demo', '--http-addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', '--shop-addr', '127.0.0.1:0', '--seed-logs', '30000'],
    // Ready once the whole of the instructions is out.
    { base: /Tether:\s+(http:\/\/\S+)/, shop: /Shop:\s+(http:\/\/\S+)/, end: /(Ctrl-C stops the shop and Tether)/ },
    {}, // the demo's own UI password, as printed
  );
  let stopped = false;
  t.after(() => stopped || demo.stop());
  assert.match(demo.output(), /Seeded 30000 logs/);
  assert.match(demo.output(), /payment declined/, 'the instructions say which log to click');
  assert.match(demo.output(), /user admin, password demo/);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ userAgent: USER_AGENT });
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false }));
  const page = await context.newPage();

  await page.goto(demo.shop);
  await page.waitForFunction(() => window.posthog?.__loaded);
  await page.waitForFunction(() => window.posthog.sessionRecordingStarted(), null, { timeout: 30_000 });
  const sessionId = await page.evaluate(() => window.posthog.get_session_id());
  const distinctId = await page.evaluate(() => window.posthog.get_distinct_id());
  assert.match(distinctId, /@example\.com$/, 'the shop signs the shopper in');

  await page.mouse.move(30, 30);
  await page.mouse.move(300, 200, { steps: 6 });
  await page.click('button[data-product="1"]');
  await page.waitForSelector('text=Trail running shoes added');
  await page.click('button[data-product="4"]');
  await page.waitForSelector('text=Espresso machine is out of stock');
  await page.click('#checkout');
  await page.waitForSelector('text=Checkout failed: payment declined by the card processor');

  // The backend's error log carries the page's session and person, stamped by the layer.
  const log = await eventually('the backend log of the failed checkout', async () => {
    const r = await demo.api(`logs?session_id=${sessionId}&q=${encodeURIComponent('payment declined')}`);
    return r.body.results?.[0];
  });
  assert.equal(log.severity, 'error');
  assert.equal(log.service, 'demo-shop');
  assert.equal(log.distinct_id, distinctId);
  assert.equal(log.attributes['session.id'], sessionId);
  const sessionLogs = await demo.api(`logs?session_id=${sessionId}`);
  const bodies = sessionLogs.body.results.map((l) => l.body);
  for (const expected of ['GET /api/products 200', 'added to cart', 'out of stock', 'POST /api/checkout 502']) {
    assert.ok(bodies.includes(expected), `${expected} in ${JSON.stringify(bodies)}`);
  }

  // Related errors of that log list the exception the page threw.
  const related = await eventually('the page exception among the related errors', async () => {
    const r = await demo.api(`logs/${log.id}/related_errors`);
    return r.body.results?.find((i) => i.description.includes('Checkout failed')) && r.body;
  });
  assert.equal(related.status, 'ok');
  // View recording has something to play, and the person is one click away.
  const recording = await eventually('the recording', async () => {
    const r = await demo.api(`recordings/${sessionId}`);
    return r.status === 200 && r.body.has_full_snapshot && r.body;
  });
  assert.ok(recording.clicks >= 3, JSON.stringify(recording));
  const person = await eventually('the shopper', async () => {
    const r = await demo.api(`persons/${encodeURIComponent(distinctId)}`);
    return r.status === 200 && r.body.properties?.name && r.body;
  });
  assert.equal(person.properties.email, distinctId);

  // The person follows the printed instructions in Tether's UI.
  mkdirSync(artifacts, { recursive: true });
  const ui = await context.newPage();
  const csp = watchCsp(ui);
  await ui.setViewportSize({ width: 1440, height: 900 });
  await ui.goto(`${demo.base}/logs`);
  await ui.waitForURL(/\/login/);
  await ui.fill('input[autocomplete=username]', 'admin');
  await ui.fill('input[type=password]', 'demo');
  await ui.click('button[type=submit]');
  await ui.waitForSelector('.log-row');
  await ui.selectOption('select[aria-label=Service]', 'demo-shop');
  await ui.fill('input[aria-label="Search logs"]', 'payment declined');
  await ui.keyboard.press('Enter');
  await eventually('only the shop\'s failed payment', async () => (await ui.locator('.log-row').count()) === 1);
  await ui.click('.log-row');
  await ui.waitForURL(new RegExp(`/logs/${log.id}`));
  await ui.click('role=tab[name="Related errors"]');
  await ui.waitForSelector('.issue-card:has-text("Checkout failed")');
  await ui.screenshot({ path: join(artifacts, 'demo-related-errors.png') });
  await ui.click('text=View recording');
  await ui.waitForURL(/\/replay\//);
  await ui.frameLocator('.player iframe').locator('#checkout').waitFor({ timeout: 15_000 });
  await ui.waitForSelector('.panel-log:has-text("payment declined")');
  await ui.screenshot({ path: join(artifacts, 'demo-replay.png') });
  csp.assertNone();

  // The shop's background job logs outside any request: unlinked, and Tether says why.
  const job = await eventually('a background job log', async () => {
    const r = await demo.api(`logs?service=demo-shop&q=${encodeURIComponent('inventory sync finished')}`);
    return r.body.results?.[0];
  }, 40_000);
  assert.equal(job.session_id, null);
  assert.equal((await demo.api(`logs/${job.id}/related_errors`)).body.status, 'no_session');

  // The seeded logs fill several services over the last days.
  const payments = await demo.api('logs?from=-4d&service=payments&limit=5');
  assert.equal(payments.body.results.length, 5);

  const how = await demo.stop();
  stopped = true;
  assert.deepEqual(how, { code: 0, signal: null }, 'the demo stops cleanly on SIGTERM');
});
