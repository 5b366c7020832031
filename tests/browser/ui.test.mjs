// What a person does in Tether's UI: log in, find a backend log, watch the recording at
// that moment, see the session's errors, and open the person — on data captured by the
// unmodified posthog-js in real Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, startStack, eventually, sendLog, watchCsp } from './harness.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

test('from a log line to the recording, the related errors and the person', async (t) => {
  // The alert below posts to this machine, which webhooks may reach only when allowed.
  const { tether, app, browser } = await startStack(t, {}, '[alerts]\nallowed_webhook_networks = ["127.0.0.0/8"]\n');

  // A visitor uses the shop: recorded, errors, calls the backend.
  const shop = await browser.newPage();
  await shop.goto(app.url);
  await shop.waitForFunction(() => window.posthog?.__loaded);
  await shop.waitForFunction(() => window.posthog.sessionRecordingStarted(), null, { timeout: 30_000 });
  const sessionId = await shop.evaluate(() => window.posthog.get_session_id());
  const distinctId = await shop.evaluate(() => window.posthog.get_distinct_id());
  await shop.mouse.move(50, 50);
  await shop.mouse.move(220, 140, { steps: 6 });
  await shop.click('#card');
  await shop.keyboard.type('4242', { delay: 20 });
  await shop.click('#pay');
  await eventually('the recording', async () => (await tether.api(`recordings/${sessionId}`)).status === 200);
  const issue = await eventually('the issue', async () =>
    (await tether.api('error_tracking/issues')).body.results.find((i) => i.description.includes('checkout exploded')),
  );
  await shop.close();

  // The backend logged the failure with the session; another log has no session.
  const now = Date.now();
  const logId = await sendLog(tether.base, {
    body: 'payment gateway timeout for order 1042',
    timeMs: now,
    attributes: { sessionId, posthogDistinctId: distinctId },
    api: tether.api,
  });
  const rec = (await tether.api(`recordings/${sessionId}`)).body;
  await sendLog(tether.base, {
    body: 'cart validated during the visit',
    timeMs: rec.start_ms + Math.max(1, Math.floor(rec.duration_ms / 2)),
    attributes: { sessionId },
    api: tether.api,
  });
  const loneId = await sendLog(tether.base, { body: 'nightly cleanup finished', timeMs: now, attributes: {}, api: tether.api });

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // The UI and the replay player work under Tether's Content-Security-Policy.
  const csp = watchCsp(page);
  const headers = (await fetch(`${tether.base}/logs`)).headers;
  assert.match(headers.get('content-security-policy'), /script-src 'self';/);
  assert.equal(headers.get('x-frame-options'), 'DENY');
  await page.goto(`${tether.base}/logs`);
  await page.waitForURL(/\/login/);
  await page.screenshot({ path: join(artifacts, 'login.png') });
  await page.fill('input[autocomplete=username]', 'admin');
  await page.fill('input[type=password]', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/logs/);
  await page.waitForSelector('.log-row');

  // Search: the URL carries it, and only matching rows remain.
  await page.fill('input[aria-label="Search logs"]', 'gateway timeout');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=gateway/);
  await eventually('the filtered list', async () => (await page.locator('.log-row').count()) === 1);
  await page.waitForSelector('[data-testid=impact]:has-text("1 logs · 1 sessions · 1 users")');
  await page.waitForSelector('.log-row .warn-badge');
  // The histogram has a time axis and a tooltip with the bucket's counts under the pointer.
  const chart = page.locator('.histogram .u-over');
  const box = await chart.boundingBox();
  const bars = await page.evaluate(() => document.querySelectorAll('.histogram canvas').length);
  assert.ok(bars > 0, 'the histogram is drawn');
  // The log is the newest: the last bucket, at the right end of the chart.
  for (let x = box.x + box.width - 2; x > box.x; x -= 4) {
    await page.mouse.move(x, box.y + box.height - 5);
    if (await page.locator('.chart-tip:has-text("1 logs")').count()) break;
  }
  await page.waitForSelector('.chart-tip:has-text("error: 1")');
  await page.screenshot({ path: join(artifacts, 'logs.png') });
  await page.mouse.move(0, 0);
  // Service filter from facets: the log's service is offered and narrows the list.
  await page.selectOption('select[aria-label=Service]', 'shop-api');
  await page.waitForURL(/service=shop-api/);
  await eventually('the service-filtered list', async () => (await page.locator('.log-row').count()) === 1);

  // Open the log → Related errors lists the session's issue.
  await page.click('.log-row');
  await page.waitForURL(new RegExp(`/logs/${logId}`));
  await page.click('role=tab[name="Related errors"]');
  await page.waitForSelector(`.issue-card:has-text("checkout exploded")`);
  await page.screenshot({ path: join(artifacts, 'log-related-errors.png') });

  // The person is one click away.
  await page.click(`a:has-text("Person: ${distinctId}")`);
  await page.waitForURL(/\/persons\//);
  await page.waitForSelector('text=sessions');
  await page.waitForSelector('a:has-text("checkout exploded")');
  await page.screenshot({ path: join(artifacts, 'person.png') });
  await page.goBack();

  // View recording opens the replay at the log's moment, its marker labelled, with the backend log listed.
  await page.waitForSelector('text=View recording');
  await page.click('text=View recording');
  await page.waitForURL(/\/replay\//);
  assert.equal(new URL(page.url()).searchParams.get('t'), String(Date.parse(new Date(now).toISOString())));
  await page.waitForSelector('.log-mark .mark-label:text-is("log")');
  const frame = page.frameLocator('.player iframe');
  await frame.locator('#pay').waitFor({ timeout: 15_000 });
  await page.waitForSelector('.panel-log:has-text("payment gateway timeout")');
  await page.screenshot({ path: join(artifacts, 'replay.png') });
  // Before playing from the start, the mid-visit log lies ahead; playing reaches it.
  await page.goto(`${tether.base}/replay/${encodeURIComponent(sessionId)}?t=${rec.start_ms}`);
  await page.frameLocator('.player iframe').locator('#pay').waitFor({ timeout: 15_000 });
  await page.waitForSelector('.panel-log.future:has-text("cart validated during the visit")');
  // The clock shows the total; the keyboard plays, pauses, steps 5 s and sets the speed.
  const clock = page.locator('[data-testid=elapsed]');
  await eventually('the clock and its total', async () => /^0s \/ \d/.test((await clock.textContent()).trim()));
  await page.keyboard.press('4');
  assert.equal(await page.inputValue('select[aria-label=Speed]'), '4');
  const at = () => Number(new URL(page.url()).searchParams.get('t'));
  await page.keyboard.press('ArrowRight');
  await eventually('5 s on', async () => at() > rec.start_ms);
  const ahead = at();
  assert.ok(ahead <= Math.min(rec.start_ms + 6000, rec.end_ms), `${ahead - rec.start_ms} ms in`);
  await page.keyboard.press('ArrowLeft');
  await eventually('5 s back', async () => at() === Math.max(rec.start_ms, ahead - 5000));
  await page.keyboard.press(' ');
  await page.waitForSelector('button:text-is("Pause")');
  await page.keyboard.press(' ');
  await page.waitForSelector('button:text-is("Play")');
  await page.click('button:has-text("Play")');
  await page.waitForSelector('.panel-log.current:has-text("cart validated during the visit")', { timeout: 15_000 });
  await page.click('role=tab[name=/^Errors/]');
  await page.waitForSelector('.panel-log:has-text("checkout exploded")');

  // A log without a session id prompts to link logs to sessions.
  await page.goto(`${tether.base}/logs/${loneId}?tab=related`);
  await page.waitForSelector('text=No session ID found');
  await page.screenshot({ path: join(artifacts, 'no-session.png') });

  // Live tail shows a log that arrives while watching.
  await page.goto(`${tether.base}/logs?live=1`);
  await page.waitForSelector('.log-row');
  await new Promise((r) => setTimeout(r, 500));
  await sendLog(tether.base, { body: 'arrived during live tail', timeMs: Date.now(), attributes: {}, api: tether.api });
  await page.waitForSelector('.log-row:has-text("arrived during live tail")', { timeout: 15_000 });

  // Your account: a personal API key is created, shown once, works, and shows its last use.
  await page.goto(`${tether.base}/account`);
  await page.fill('input[aria-label="Key name"]', 'ui test key');
  await page.click('button:has-text("Create key")');
  const key = await page.locator('[data-testid=new-key]').textContent();
  const withKey = await fetch(`${tether.base}/api/projects/1/logs`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(withKey.status, 200);
  await page.reload();
  await page.waitForSelector('table[aria-label="API keys"] tr:has-text("ui test key") :text("just now")');
  await page.goto(`${tether.base}/settings`);
  // Settings: retention is shown with its defaults and saved per project.
  const logsDays = page.locator('input[aria-label="Logs retention in days"]');
  assert.equal(await logsDays.inputValue(), '30');
  await logsDays.fill('7');
  // Privacy: a selector the browser cannot parse is named and cannot be saved.
  const maskText = page.locator('input[aria-label="Mask the text of"]');
  await maskText.fill('.secret[');
  await page.waitForSelector('text=not a CSS selector: .secret[');
  assert.ok(await page.locator('button:has-text("Save settings")').isDisabled());
  await maskText.fill('.secret, [data-private]');
  await page.click('button:has-text("Save settings")');
  await page.waitForSelector('[role=status]:has-text("Saved.")');
  const projects = await page.evaluate(async () => (await fetch('/api/projects')).json());
  assert.deepEqual(projects.results[0].settings.retention, { logs_days: 7, events_days: 90, recordings_days: 30 });
  assert.equal(projects.results[0].settings.privacy.mask_text_selector, '.secret, [data-private]');
  await page.reload();
  assert.equal(await page.locator('input[aria-label="Logs retention in days"]').inputValue(), '7');
  await page.screenshot({ path: join(artifacts, 'settings.png'), fullPage: true });

  // Alerts: "Alert on this search" carries the logs search into a new alert.
  await page.goto(`${tether.base}/logs?q=gateway%20timeout&severity=error&from=-1h`);
  await page.click('text=Alert on this search');
  await page.waitForURL(/\/alerts\?query=/);
  assert.equal(await page.locator('input[aria-label="Alert query"]').inputValue(), 'q=gateway+timeout&severity=error');
  await page.fill('input[aria-label="Alert name"]', 'Gateway timeouts');
  // The cloud metadata service is refused when the alert is saved (no packet is sent).
  await page.fill('input[aria-label="Webhook URL"]', 'http://169.254.169.254/latest/meta-data/');
  await page.click('button:has-text("Create alert")');
  await page.waitForSelector('[role=status]:has-text("169.254.169.254 is a link-local address")');
  await page.fill('input[aria-label="Webhook URL"]', 'http://127.0.0.1:9/hook');
  await page.click('button:has-text("Create alert")');
  await page.waitForSelector('tr:has-text("Gateway timeouts") :text("more than 20 logs in 5 min")');
  await page.waitForSelector('tr:has-text("Gateway timeouts") .status:text("ok")');
  const alerts = await page.evaluate(async () => (await fetch('/api/projects/1/alerts')).json());
  assert.deepEqual(alerts.results[0].rule, { kind: 'log_threshold', query: 'q=gateway+timeout&severity=error', threshold: 20, window_secs: 300 });
  await page.screenshot({ path: join(artifacts, 'alerts.png') });

  // The recordings list filters by person and errors.
  await page.goto(`${tether.base}/replay?distinct_id=${encodeURIComponent(distinctId)}&has_errors=true`);
  await page.waitForSelector(`a[href="/project/1/replay/${sessionId}"]`);
  await page.screenshot({ path: join(artifacts, 'replays.png') });
  await page.selectOption('select[aria-label="Minimum duration"]', '300');
  await page.waitForSelector('text=No recordings match');

  // The errors list shows a sparkline per issue.
  await page.goto(`${tether.base}/errors`);
  await page.waitForSelector('svg.sparkline rect');
  // Lists have headers and sort by a click on one; the order is in the URL.
  await page.click('th:has-text("Occurrences")');
  await page.waitForURL(/sort=-occurrences/);
  await page.waitForSelector('th[aria-sort=descending]:has-text("Occurrences")');
  await page.screenshot({ path: join(artifacts, 'errors.png') });
  // `?` shows the keyboard shortcuts.
  await page.keyboard.press('?');
  await page.waitForSelector('[role=dialog][aria-label="Keyboard shortcuts"]');
  await page.screenshot({ path: join(artifacts, 'shortcuts.png') });
  await page.keyboard.press('Escape');
  await page.goto(`${tether.base}/guide`);
  await page.waitForSelector('h2');
  await page.screenshot({ path: join(artifacts, 'guide.png'), fullPage: true });

  // The issue page offers the recording at the exception.
  await page.goto(`${tether.base}/errors/${issue.id}`);
  await page.waitForSelector('text=Watch recording');
  await page.screenshot({ path: join(artifacts, 'issue.png') });
  await page.click('text=Watch recording');
  await page.waitForURL(/\/replay\//);
  await page.frameLocator('.player iframe').locator('#card').waitFor({ timeout: 15_000 });
  csp.assertNone();
});
