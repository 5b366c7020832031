// Request by request, with the real posthog-js in Chromium and `tether demo`'s shop as the
// instrumented backend (axum + tether-stamp, logging through OpenTelemetry): the page calls
// two backend routes, one of which fails, posts a classic form, and calls a service that
// writes no logs. The replay's Network tab lists the calls with the backend logs and issue
// each caused and how they were matched; the form post is linked through the posthog-js
// cookie; the linking page names the route without logs; the sessions behind a search list
// the session. Runs on the embedded stores and (scripts/test) on ClickHouse + PostgreSQL + S3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchTether, launchChromium, eventually, watchCsp } from './harness.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
// posthog-js ignores bots: a desktop Chrome user agent and no navigator.webdriver (as the
// demo test; the shop page is not configured for automated browsers).
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

/** A service that answers but writes no log at all (CORS open, so the shop's page may call it). */
async function startSilentService() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end('[]');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

test('each request of a replay shows the backend logs and issues it caused, matched by trace', async (t) => {
  const silent = await startSilentService();
  t.after(() => silent.stop());
  const demo = await launchTether(
    ['demo', '--http-addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', '--shop-addr', '127.0.0.1:0'],
    { base: /Tether:\s+(http:\/\/\S+)/, shop: /Shop:\s+(http:\/\/\S+)/, end: /(Ctrl-C stops the shop and Tether)/ },
    {},
  );
  t.after(() => demo.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ userAgent: USER_AGENT });
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false }));
  const page = await context.newPage();

  // posthog-js records no network requests on localhost or 127.0.0.1; Chromium sends any
  // *.localhost name to this machine, so the shop is opened as a real site would be.
  const shop = demo.shop.replace('127.0.0.1', 'shop.localhost');
  await page.goto(shop);
  await page.waitForFunction(() => window.posthog?.__loaded);
  await page.waitForFunction(() => window.posthog.sessionRecordingStarted(), null, { timeout: 30_000 });
  const sessionId = await page.evaluate(() => window.posthog.get_session_id());
  const distinctId = await page.evaluate(() => window.posthog.get_distinct_id());

  await page.click('button[data-product="1"]');
  await page.waitForSelector('text=Trail running shoes added');
  await page.evaluate((url) => fetch(`${url}/api/recommendations/1234`), silent.url);
  await page.click('#checkout');
  await page.waitForSelector('text=Checkout failed: payment declined by the card processor');
  // A classic form post: no fetch, no tracing headers — only the posthog-js cookie.
  await page.fill('input[name=code]', 'gift-100');
  await Promise.all([page.waitForURL(/\/gift-card$/), page.click('#redeem')]);
  await page.waitForSelector('text=Gift card GIFT-100 redeemed');
  await page.waitForFunction(() => window.posthog?.sessionRecordingStarted(), null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.posthog.get_session_id()), sessionId, 'the form post stays in the session');
  // posthog-js holds a new page's recording until the person interacts with it.
  await page.mouse.move(40, 40);
  await page.mouse.move(320, 240, { steps: 6 });
  await page.click('#coupon');

  const path = (r) => new URL(r.url).pathname;
  const requests = await eventually('the recorded requests with their logs and issue', async () => {
    const r = await demo.api(`sessions/${sessionId}/requests`);
    const found = r.status === 200 ? r.body.results : [];
    const checkout = found.find((x) => path(x) === '/api/checkout');
    const gift = found.find((x) => path(x) === '/gift-card');
    return checkout?.issues.length && gift?.logs.length && found.some((x) => path(x) === '/api/recommendations/1234') && found;
  }, 90_000);

  const checkout = requests.find((r) => path(r) === '/api/checkout');
  assert.equal(checkout.status, 502);
  assert.equal(checkout.matched, 'trace');
  assert.match(checkout.trace_id, /^[0-9a-f]{32}$/);
  assert.ok(checkout.logs.length >= 2 && checkout.logs.every((l) => l.trace_id === checkout.trace_id), JSON.stringify(checkout.logs));
  const declined = checkout.logs.find((l) => l.body.startsWith('payment declined'));
  assert.equal(declined?.severity, 'error');
  assert.ok(checkout.issues.some((i) => i.description.includes('Checkout failed')), JSON.stringify(checkout.issues));

  const cart = requests.find((r) => path(r) === '/api/cart');
  assert.equal(cart.status, 200);
  assert.equal(cart.matched, 'trace');
  assert.ok(cart.logs.some((l) => l.body === 'added to cart'));
  assert.deepEqual(cart.issues, [], 'a request that worked caused no issue');

  // The form post's page load: its logs came with the session from the cookie, and the
  // document's own timing entry named their trace.
  const gift = requests.find((r) => path(r) === '/gift-card');
  assert.equal(gift.initiator, 'navigation');
  assert.equal(gift.matched, 'trace');
  const redeemed = gift.logs.find((l) => l.body === 'gift card redeemed');
  assert.equal(redeemed?.session_id, sessionId, 'linked through the posthog-js cookie');
  assert.equal(redeemed.distinct_id, distinctId);

  const unlogged = requests.find((r) => path(r) === '/api/recommendations/1234');
  assert.equal(unlogged.matched, null);
  assert.deepEqual(unlogged.logs, []);

  // Linking health: the shop's logs are mostly linkable (its background job's are not);
  // the silent service's route is named, ids folded.
  const health = await eventually('the linking health', async () => {
    const r = await demo.api('linking?from=-1h');
    return r.body.unlinked_routes?.length && r.body;
  });
  const shopLogs = health.services.find((s) => s.service === 'demo-shop');
  assert.ok(shopLogs.with_session > 0 && shopLogs.with_trace > 0, JSON.stringify(shopLogs));
  assert.equal(shopLogs.language, 'rust');
  const route = health.unlinked_routes.find((r) => r.route === '/api/recommendations/:id');
  assert.ok(route, JSON.stringify(health.unlinked_routes));
  assert.equal(route.host, new URL(silent.url).host);
  assert.equal(route.same_origin, false);
  assert.match(route.fix, /tracing_headers/);
  assert.ok(health.linked_requests >= 3, JSON.stringify(health));
  assert.ok(!health.unlinked_routes.some((r) => ['/api/checkout', '/api/cart', '/gift-card'].includes(r.route)));

  // The sessions behind a search.
  const behind = await demo.api(`logs/sessions?from=-1h&q=${encodeURIComponent('"payment declined"')}`);
  assert.deepEqual(behind.body.results.map((s) => s.session_id), [sessionId]);

  // In the UI.
  mkdirSync(artifacts, { recursive: true });
  const ui = await context.newPage();
  const csp = watchCsp(ui);
  await ui.setViewportSize({ width: 1440, height: 900 });
  await ui.goto(`${demo.base}/login`);
  await ui.fill('input[autocomplete=username]', 'admin');
  await ui.fill('input[type=password]', 'demo');
  await ui.click('button[type=submit]');
  await ui.waitForURL(/\/logs/);

  // From the failed payment's log, "View recording" opens the replay at its request.
  await ui.goto(`${demo.base}/project/1/logs/${declined.id}`);
  await ui.click('text=View recording');
  await ui.waitForURL(/\/replay\/.*trace=/);
  const row = ui.locator('.request-row.highlight');
  await row.waitFor();
  assert.match(await row.textContent(), /\/api\/checkout.*502/);
  await row.locator('.request-detail .panel-log:has-text("payment declined")').waitFor();
  await row.locator('.issue-card:has-text("Checkout failed")').waitFor();
  assert.match(await row.locator('.request-detail').textContent(), /matched by\s*trace/);
  for (const p of ['/api/cart', '/gift-card', '/api/recommendations/1234']) {
    await ui.locator(`.request-row:has-text("${p}")`).first().waitFor();
  }
  await ui.screenshot({ path: join(artifacts, 'requests-network-tab.png') });
  // At 1024×700 the player keeps most of the width.
  await ui.setViewportSize({ width: 1024, height: 700 });
  const player = await ui.locator('.player').boundingBox();
  assert.ok(player.width >= 520, `player ${player.width} px wide at 1024`);
  await ui.screenshot({ path: join(artifacts, 'requests-replay-1024.png') });
  await ui.setViewportSize({ width: 1440, height: 900 });
  // The Events tab says what was clicked, and when.
  await ui.click('role=tab[name=/^Events/]');
  const click = ui.locator('.event-row:has-text(\'click on button "Checkout"\')').first();
  await click.waitFor();
  assert.match(await click.locator('.event-time').textContent(), /^\d+:\d\d$/);

  // The issue the failed checkout caused, with where it happened.
  const checkoutIssue = checkout.issues.find((i) => i.description.includes('Checkout failed'));
  await ui.goto(`${demo.base}/project/1/errors/${checkoutIssue.id}`);
  const occurrence = ui.locator('section[aria-label="Newest occurrence"]');
  await occurrence.waitFor();
  const facts = await occurrence.locator('.facts').textContent();
  assert.match(facts, /Browser\s*Chrome/);
  assert.match(facts, /Page\s*http:\/\/shop\.localhost/);
  assert.match(facts, /SDK\s*web \d+\.\d+/);
  await ui.screenshot({ path: join(artifacts, 'requests-issue.png'), fullPage: true });

  await ui.goto(`${demo.base}/project/1/guide`);
  const shopRow = ui.locator('tr[data-service="demo-shop"]');
  await shopRow.waitFor();
  assert.match(await shopRow.textContent(), /\d+%/);
  await ui.locator('table[aria-label="Unlinked routes"] :text("/api/recommendations/:id")').waitFor();
  await ui.screenshot({ path: join(artifacts, 'requests-linking.png'), fullPage: true });

  await ui.goto(`${demo.base}/project/1/logs?from=-1h&view=sessions&q=${encodeURIComponent('"payment declined"')}`);
  await ui.locator(`ul[aria-label="Sessions of this search"] :text("${sessionId}")`).waitFor();
  csp.assertNone();
});
