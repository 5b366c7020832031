// The logs explorer as a person searches it: the query language in the search box (and its
// help card and syntax errors), attribute filters that combine, Back through searches, and
// the counts above the list agreeing with the list and the chart — at 1440×900 and 1024×700.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKEN, eventually, launchChromium, logIn, sendLogs, startTether } from './harness.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** The bodies of the rows on screen, top to bottom. */
const rows = (page) => page.locator('.log-row .body').allTextContents();

/** Waits until the list shows exactly `want` (bodies, newest first). */
async function listShows(page, want) {
  await eventually(`the list ${JSON.stringify(want)}`, async () => JSON.stringify(await rows(page)) === JSON.stringify(want));
}

async function search(page, query) {
  await page.fill('input[aria-label="Search logs"]', query);
  await page.keyboard.press('Enter');
}

test('the query language, combined filters, Back, and counts that agree', async (t) => {
  const tether = await startTether();
  t.after(tether.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());

  const now = Date.now();
  const at = (secondsAgo) => now - secondsAgo * 1000;
  await sendLogs(tether.base, [
    { service: 'payments', severity: 'ERROR', body: 'payment declined: card expired', timeMs: at(60), attributes: { 'http.route': '/pay', 'http.status_code': 402 } },
    { service: 'payments', severity: 'WARN', body: 'payment retry scheduled', timeMs: at(50), attributes: { 'http.route': '/pay', 'http.status_code': 503 } },
    { service: 'payments', severity: 'INFO', body: 'payment accepted', timeMs: at(40), attributes: { 'http.route': '/pay', 'http.status_code': 200 } },
    { service: 'web', severity: 'ERROR', body: 'checkout page crashed: payment widget', timeMs: at(30), attributes: { 'http.route': '/checkout', 'http.status_code': 500 } },
    { service: 'web', severity: 'INFO', body: 'healthcheck ok', timeMs: at(20), attributes: { 'http.route': '/health', 'http.status_code': 200 } },
    { service: 'web', severity: 'DEBUG', body: 'cache warm', timeMs: at(10) },
  ]);
  await eventually('the logs', async () => (await tether.api('logs?from=-1h')).body.results.length === 6);

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await logIn(page, tether.base);
  const ALL = ['cache warm', 'healthcheck ok', 'checkout page crashed: payment widget', 'payment accepted', 'payment retry scheduled', 'payment declined: card expired'];
  await listShows(page, ALL);

  // One time picker: quick ranges, and From/To that take relative times or dates.
  const picker = page.locator('button[aria-label="Time range"]');
  assert.equal((await picker.textContent()).trim(), 'Last 1 hour ▾');
  await picker.click();
  await page.click('role=dialog[name="Choose a time range"] >> text=Last 24 hours');
  await page.waitForURL(/from=-24h/);
  assert.equal((await picker.textContent()).trim(), 'Last 24 hours ▾');
  await listShows(page, ALL);
  await picker.click();
  await page.fill('role=dialog >> input[aria-label=From]', 'yesterday-ish');
  await page.click('role=dialog >> button:has-text("Apply")');
  await page.waitForSelector('role=dialog >> .error-text:has-text("From:")');
  await page.fill('role=dialog >> input[aria-label=From]', '-30m');
  await page.fill('role=dialog >> input[aria-label=To]', 'now');
  await page.screenshot({ path: join(artifacts, 'explorer-time-picker.png') });
  await page.click('role=dialog >> button:has-text("Apply")');
  await page.waitForURL(/from=-30m/);
  assert.equal((await picker.textContent()).trim(), 'Last 30 minutes ▾');
  await listShows(page, ALL);
  // The chart ends at now: its last bucket holds the present.
  const chart = (await tether.api(`logs/histogram?${new URL(page.url()).search.slice(1)}`)).body;
  const last = Date.parse(chart.buckets.at(-1).start);
  assert.ok(last <= Date.now() && Date.now() < last + chart.bucket_seconds * 1000 + 5000, `last bucket ${chart.buckets.at(-1).start}`);

  // Words AND, field:value, comparisons, negation and OR, each as the box says.
  await search(page, 'payment -healthcheck service:payments level>=warn');
  await listShows(page, ['payment retry scheduled', 'payment declined: card expired']);
  // What the query looks for is marked in each line.
  assert.deepEqual(await page.locator('.log-row .body mark').allTextContents(), ['payment', 'payment']);
  await search(page, 'attr.http.status_code>=500 OR "card expired"');
  await listShows(page, ['checkout page crashed: payment widget', 'payment retry scheduled', 'payment declined: card expired']);
  await search(page, '(crashed OR accepted) AND NOT service=web');
  await listShows(page, ['payment accepted']);

  // The syntax card, at both widths.
  await page.click('button[aria-label="Query syntax"]');
  await page.waitForSelector('role=dialog[name="Query syntax"] >> text=attr.http.status_code>499');
  await page.screenshot({ path: join(artifacts, 'explorer-query-help.png') });
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.screenshot({ path: join(artifacts, 'explorer-query-help-1024.png') });
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.click('button[aria-label="Query syntax"]');

  // A mistake says where it is, and nothing pretends to match.
  await search(page, 'service: payments');
  await page.waitForSelector('.error-banner:has-text("column 9: expected a value after \\"service:\\"")');
  assert.equal(await page.locator('.log-row').count(), 0);

  // Back steps through the searches, and the box shows the query of the list each time.
  await page.goBack();
  await listShows(page, ['payment accepted']);
  assert.equal(await page.inputValue('input[aria-label="Search logs"]'), '(crashed OR accepted) AND NOT service=web');
  await page.goBack();
  await listShows(page, ['checkout page crashed: payment widget', 'payment retry scheduled', 'payment declined: card expired']);
  assert.equal(await page.inputValue('input[aria-label="Search logs"]'), 'attr.http.status_code>=500 OR "card expired"');

  // Two attribute filters combine (each a chip that removes only itself).
  await search(page, '');
  await listShows(page, ['cache warm', 'healthcheck ok', 'checkout page crashed: payment widget', 'payment accepted', 'payment retry scheduled', 'payment declined: card expired']);
  for (const filter of ['http.route=/pay', 'http.status_code=503']) {
    await page.fill('input[aria-label="Attribute filter"]', filter);
    await page.keyboard.press('Enter');
  }
  await listShows(page, ['payment retry scheduled']);
  await page.click('button.chip:has-text("attr = http.status_code=503")');
  await listShows(page, ['payment accepted', 'payment retry scheduled', 'payment declined: card expired']);
  await page.click('button.chip:has-text("attr = http.route=/pay")');

  // The field sidebar counts the search's values: a value's name narrows to it, "−" excludes it.
  const fields = page.locator('aside[aria-label=Fields]');
  await fields.locator('li.field-value:has(button:text-is("web")) .count:text-is("3")').waitFor();
  await fields.locator('button:text-is("web")').click();
  await listShows(page, ['cache warm', 'healthcheck ok', 'checkout page crashed: payment widget']);
  await fields.locator('li.field-value:has(button[aria-label="Exclude level:debug"])').hover();
  await fields.locator('button[aria-label="Exclude level:debug"]').click();
  await listShows(page, ['healthcheck ok', 'checkout page crashed: payment widget']);
  await fields.locator('button:has-text("http.route")').click();
  await fields.locator('button:text-is("/health")').click();
  await listShows(page, ['healthcheck ok']);
  assert.equal(await page.inputValue('input[aria-label="Search logs"]'), 'service:web -level:debug attr.http.route:/health');
  await page.screenshot({ path: join(artifacts, 'explorer-fields.png') });

  // The counts above the list are of the same search as the list and the chart.
  await search(page, 'payment');
  await page.selectOption('select[aria-label=Service]', 'payments');
  await page.click('button.chip.sev-error');
  await listShows(page, ['payment declined: card expired']);
  await page.waitForSelector('[data-testid=impact]:has-text("1 logs")');
  // The service menu still offers every service of the range.
  const services = await page.locator('select[aria-label=Service] option').allTextContents();
  assert.ok(services.some((o) => o.startsWith('web')), `services offered: ${services}`);
  const query = new URL(page.url()).search.slice(1);
  const hist = (await tether.api(`logs/histogram?${query}`)).body;
  assert.equal(hist.buckets.reduce((n, b) => n + b.total, 0), 1, 'the chart counts the same log');
  // Live tail adds a new match to the list and to the counts.
  await page.click('button:has-text("Live tail")');
  await page.waitForURL(/live=1/);
  await page.waitForTimeout(2500); // the tail's first poll sets its cursor at "now"
  await sendLogs(tether.base, [
    { service: 'payments', severity: 'ERROR', body: 'payment declined: insufficient funds', timeMs: Date.now() },
    { service: 'web', severity: 'ERROR', body: 'payment widget failed to load', timeMs: Date.now() },
  ]);
  await listShows(page, ['payment declined: insufficient funds', 'payment declined: card expired']);
  await page.waitForSelector('[data-testid=impact]:has-text("2 logs")');
  await page.screenshot({ path: join(artifacts, 'explorer.png') });
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.screenshot({ path: join(artifacts, 'explorer-1024.png') });
  // Compact rows: the time of day, then the message near the list's left edge.
  const row = page.locator('.log-row').first();
  const [rowBox, bodyBox] = [await row.boundingBox(), await row.locator('.body').boundingBox()];
  assert.ok(bodyBox.x - rowBox.x <= 300, `the message starts ${bodyBox.x - rowBox.x}px into the row`);
  assert.match(await row.locator('.time').textContent(), /^\d\d:\d\d:\d\d\.\d{3}$/);
});

test('a huge JSON body and a long attribute leave the drawer usable', async (t) => {
  const tether = await startTether();
  t.after(tether.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());

  // ~100 KB of JSON: 1,200 line items.
  const order = { order_id: 'ord-1042', items: Array.from({ length: 1200 }, (_, i) => ({ sku: `SKU-${i}`, name: `Item number ${i} with a longer name`, qty: i % 5, price: i * 1.25 })) };
  const body = JSON.stringify(order);
  assert.ok(body.length > 95_000, `${body.length} bytes`);
  const longValue = 'x'.repeat(3000);
  await sendLogs(tether.base, [
    { service: 'orders', severity: 'INFO', body, timeMs: Date.now() - 5000, attributes: { sessionId: 's-json', posthogDistinctId: 'ada', note: longValue } },
  ]);
  const logs = await eventually('the log', async () => (await tether.api('logs?from=-1h')).body.results.length === 1 && (await tether.api('logs?from=-1h')).body.results);

  for (const [width, height] of [[1440, 900], [1024, 700]]) {
    const page = await browser.newPage({ viewport: { width, height } });
    await logIn(page, tether.base);
    await page.goto(`${tether.base}/logs/${logs[0].id}`);
    const drawer = page.locator('aside.drawer');
    await page.waitForSelector('[data-testid=json-body]');
    // The body is a tree, collapsed below its first level; nothing runs off the right edge.
    await page.waitForSelector('.json-tree :text("1200 items")');
    const overflow = await drawer.evaluate((d) => d.scrollWidth - d.clientWidth);
    assert.ok(overflow <= 1, `the drawer scrolls sideways by ${overflow}px`);
    const tall = await drawer.evaluate((d) => d.scrollHeight);
    assert.ok(tall < 3000, `the drawer is ${tall}px tall`);
    // The attribute's copy and filter stay inside the drawer.
    const box = await drawer.boundingBox();
    const filter = await page.locator('tr:has(td.key:text-is("note")) button:has-text("filter")').boundingBox();
    assert.ok(filter && filter.x + filter.width <= box.x + box.width, 'the filter action is in view');
    await page.screenshot({ path: join(artifacts, `explorer-json-drawer-${width}.png`) });
    // Opened all the way, the actions are still on top.
    const items = page.locator('.json-node', { has: page.locator('.json-key', { hasText: /^"items"/ }) }).last();
    await items.locator('button.json-toggle').first().click();
    await drawer.evaluate((d) => d.scrollTo(0, d.scrollHeight));
    for (const action of ['Session logs', 'Person: ada']) {
      const b = await page.locator(`aside.drawer a:has-text("${action}")`).boundingBox();
      assert.ok(b && b.y >= 0 && b.y + b.height <= height, `${action} in view at ${width}px after scrolling`);
    }
    await page.screenshot({ path: join(artifacts, `explorer-json-drawer-open-${width}.png`) });
    await page.close();
  }
});

test('an OTLP structured body (kvlist, array) is a tree in the drawer', async (t) => {
  const tether = await startTether();
  t.after(tether.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const kv = (key, value) => ({ key, value });
  const body = {
    kvlistValue: {
      values: [
        kv('event', { stringValue: 'order.created' }),
        kv('order', { kvlistValue: { values: [kv('id', { intValue: '1042' }), kv('paid', { boolValue: true })] } }),
        kv('skus', { arrayValue: { values: [{ stringValue: 'SKU-1' }, { stringValue: 'SKU-2' }] } }),
      ],
    },
  };
  const resp = await fetch(`${tether.base}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(Date.now() - 5000) * 1000000n), severityText: 'INFO', body }] }] }] }),
  });
  assert.equal(resp.status, 200, await resp.text());
  const log = await eventually('the log', async () => (await tether.api('logs?from=-1h')).body.results[0]);
  assert.deepEqual(JSON.parse(log.body), { event: 'order.created', order: { id: 1042, paid: true }, skus: ['SKU-1', 'SKU-2'] });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await logIn(page, tether.base);
  await page.goto(`${tether.base}/logs/${log.id}`);
  await page.waitForSelector('[data-testid=json-body] .json-key:has-text(\'"order":\')');
  await page.waitForSelector('[data-testid=json-body] :text("2 items")');
});

test('Persons lists the site\'s users, searchable, each opening their page', async (t) => {
  const tether = await startTether();
  t.after(tether.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());
  // What posthog-js sends when a visitor signs in, and another visitor's first event.
  const resp = await fetch(`${tether.base}/batch/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      api_key: TOKEN,
      batch: [
        { event: '$identify', distinct_id: 'ada@example.com', properties: { $anon_distinct_id: 'anon-ada', $set: { email: 'ada@example.com', name: 'Ada Lovelace' } } },
        { event: '$pageview', distinct_id: 'bob-42', properties: { $set: { name: 'Bob' }, $current_url: 'https://shop.example/' } },
      ],
    }),
  });
  assert.equal(resp.status, 200, await resp.text());
  await eventually('two persons', async () => (await tether.api('persons')).body.results.length === 2);

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await logIn(page, tether.base);
  await page.click('.sidebar a:has-text("Persons")');
  await page.waitForURL(/\/persons$/);
  await page.waitForSelector('td a:text-is("ada@example.com")');
  await page.waitForSelector('td a:text-is("bob-42")');
  await page.fill('input[aria-label="Search persons"]', 'lovelace');
  await page.keyboard.press('Enter');
  await page.waitForURL(/search=lovelace/);
  await eventually('only Ada', async () => (await page.locator('tbody tr').count()) === 1);
  await page.waitForSelector('tr:has-text("ada@example.com") :text("+1 more ids")');
  await page.screenshot({ path: join(artifacts, 'persons.png') });
  await page.click('td a:text-is("ada@example.com")');
  await page.waitForURL(/\/persons\/ada%40example.com/);
  await page.waitForSelector('h2:text-is("ada@example.com")');
  // The team is "Members", apart from the site's persons.
  assert.equal(await page.locator('.sidebar a:has-text("People")').count(), 0);
  await page.waitForSelector('.sidebar a:has-text("Members")');
});
