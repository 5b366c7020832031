// Log patterns as a person uses them: the Patterns view of a search (counts, examples, the
// sessions a pattern hit), a pattern as a filter ("Show logs", and "similar logs" in the
// drawer), and what changed against the hour before and between sessions with and without
// an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKEN, eventually, launchChromium, logIn, sendLogs, startTether } from './harness.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** The rows of the table labelled `label`: each row's cells' text. */
async function tableRows(page, label) {
  return page.locator(`table[aria-label="${label}"] tbody tr[data-testid]`).evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim())),
  );
}

test('patterns of a search, who they hit, as filters, and what changed', async (t) => {
  const tether = await startTether();
  t.after(tether.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());

  const now = Date.now();
  const at = (minutesAgo) => now - minutesAgo * 60_000;
  const logs = [];
  // The hour before: cache misses only.
  for (let i = 0; i < 6; i++) logs.push({ service: 'web', severity: 'DEBUG', body: `cache miss for key k${i}`, timeMs: at(90 + i) });
  // The last hour: payments failing in two sessions, and logins in five.
  for (let i = 0; i < 8; i++) {
    logs.push({ service: 'payments', severity: 'ERROR', body: `payment declined for order ${4000 + i}`, timeMs: at(40 - i), attributes: { sessionId: `sess-${i % 2}`, posthogDistinctId: `user-${i % 2}` } });
  }
  const users = ['ada', 'bob', 'cyd', 'dee', 'eve'];
  for (let i = 0; i < 5; i++) {
    logs.push({ service: 'auth', severity: 'INFO', body: `user ${users[i]} logged in`, timeMs: at(30 - i), attributes: { sessionId: `sess-${i + 2}`, posthogDistinctId: users[i] } });
  }
  await sendLogs(tether.base, logs);
  await eventually('the logs', async () => (await tether.api('logs?from=-2h')).body.results.length === 19);
  // Session sess-0 hit an exception, as posthog-js reports one.
  const exception = await fetch(`${tether.base}/batch/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      api_key: TOKEN,
      batch: [{
        event: '$exception', uuid: '0194d8a4-0000-7000-8000-0000000000ab', distinct_id: 'user-0', timestamp: new Date(at(35)).toISOString(),
        properties: { $session_id: 'sess-0', $exception_list: [{ type: 'TypeError', value: 'card is undefined' }] },
      }],
    }),
  });
  assert.equal(exception.status, 200, await exception.text());
  await eventually('the issue', async () => (await tether.api('error_tracking/issues')).body.results.length === 1);

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await logIn(page, tether.base);
  await page.click('role=tab[name="Patterns"]');
  await page.waitForURL(/view=patterns/);
  await eventually('the patterns of the last hour', async () => (await tableRows(page, 'Log patterns')).length === 2);
  const rows = await tableRows(page, 'Log patterns');
  assert.deepEqual(rows.map((r) => [r[1], r[2], r[4]]), [
    ['payment declined for order <num>', '8', '8'],
    ['user <*> logged in', '5', '0'],
  ]);
  assert.match(await page.textContent('[data-testid=patterns-note]'), /2 patterns of 13 logs/);
  // Each pattern offers an alert on its logs.
  const alert = await page.locator('[data-testid=pattern-row] a:has-text("Alert")').first().getAttribute('href');
  assert.match(decodeURIComponent(alert), /\/alerts\?query=q=pattern(:|%3A)/);

  // A pattern opens to its examples and the sessions it hit, newest first.
  await page.locator('[data-testid=pattern-row]').first().click();
  await page.waitForSelector('ul[aria-label="Sessions this pattern hit"] li');
  const sessions = await page.locator('ul[aria-label="Sessions this pattern hit"] li').allTextContents();
  assert.equal(sessions.length, 2);
  // sess-1 logged the latest failure.
  assert.match(sessions[0], /sess-1 user-1 4 logs/);
  assert.match(sessions[1], /sess-0 user-0 4 logs/);
  assert.equal(await page.locator('.pattern-examples .example').count(), 3);
  await page.screenshot({ path: join(artifacts, 'patterns.png') });

  // "Show logs" filters the list by the pattern.
  await page.locator('[data-testid=pattern-row] >> text=Show logs').nth(1).click();
  await page.waitForURL((url) => url.searchParams.get('q') === 'pattern:"user <*> logged in"' && !url.searchParams.has('view'));
  await eventually('the logins alone', async () => (await page.locator('.log-row .body').allTextContents()).length === 5);
  assert.ok((await page.locator('.log-row .body').allTextContents()).every((b) => b.includes('logged in')));

  // Each log shows its pattern, with the number of similar logs.
  await page.locator('.log-row').first().click();
  await page.waitForSelector('.drawer >> text=5 similar logs');
  assert.match(await page.textContent('.drawer'), /pattern\s*user <\*> logged in/);

  // What changed against the hour before: the failures are new, the cache misses gone.
  await page.goto(`${tether.base}/projects/1/logs?view=patterns&compare=previous`);
  await eventually('the comparison', async () => (await tableRows(page, 'Pattern changes')).length === 3);
  const changes = await tableRows(page, 'Pattern changes');
  assert.deepEqual(changes.map((r) => [r[0], r[1], r[2], r[3]]), [
    ['New', 'payment declined for order <num>', '8', '0'],
    ['Gone', 'cache miss for key <id>', '0', '6'],
    ['New', 'user <*> logged in', '5', '0'],
  ]);
  await page.screenshot({ path: join(artifacts, 'patterns-compare.png') });

  // The sessions that hit an error against the others: sess-0 logged half the failures
  // and nothing else; the other sessions logged the rest and every login.
  await page.selectOption('select[aria-label="Compare patterns"]', 'sessions');
  await page.waitForSelector('[data-testid=comparison-note] >> text=sessions with an error');
  await eventually('the sessions comparison', async () => (await tableRows(page, 'Pattern changes')).length === 2);
  const bySessions = await tableRows(page, 'Pattern changes');
  assert.deepEqual(bySessions.map((r) => [r[0], r[1], r[2], r[3]]), [
    ['Gone', 'user <*> logged in', '0', '5'],
    ['Same', 'payment declined for order <num>', '4', '4'],
  ]);
});
