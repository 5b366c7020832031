// The unmodified posthog-js in real Chromium records a session, captures an uncaught error
// and stamps the app's own API calls; Tether links all of it to a backend log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, eventually, sendLog } from './harness.mjs';

test('a recorded session, its error and a backend log are linked', async (t) => {
  const { tether, app, browser } = await startStack(t);
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await page.goto(app.url);
  await page.waitForFunction(() => window.posthog?.__loaded);
  await page.waitForFunction(() => window.posthog.sessionRecordingStarted(), null, { timeout: 30_000 });
  const sessionId = await page.evaluate(() => window.posthog.get_session_id());
  assert.match(sessionId, /^[0-9a-f-]{36}$/);

  // Recording uploads start only after interaction: move, click, type, then pay.
  await page.mouse.move(40, 40);
  await page.mouse.move(200, 120, { steps: 8 });
  await page.click('#card');
  await page.keyboard.type('4242 4242 4242 4242', { delay: 20 });
  await page.click('#pay');
  await page.waitForSelector('text=backend said 502');
  await eventually('the uncaught error in the page', () => pageErrors.some((m) => m.includes('checkout exploded')));

  // The app's backend got the session id from posthog-js's tracing headers.
  assert.equal(app.received.length, 1);
  assert.equal(app.received[0]['x-posthog-session-id'], sessionId);
  assert.ok(app.received[0]['x-posthog-distinct-id']);

  const recording = await eventually('a recording with a full snapshot', async () => {
    const r = await tether.api(`recordings/${sessionId}`);
    return r.status === 200 && r.body.has_full_snapshot && r.body.clicks >= 1 && r.body;
  });
  assert.ok(recording.duration_ms >= 0);
  const snapshots = await tether.api(`recordings/${sessionId}/snapshots`);
  const events = snapshots.body.windows.flatMap((w) => w.events);
  assert.ok(events.some((e) => e.type === 2 && typeof e.data === 'object' && e.data.node), 'a decoded full snapshot');

  const issue = await eventually('an issue for the uncaught error', async () => {
    const r = await tether.api('error_tracking/issues');
    return r.body.results.find((i) => i.description.includes('checkout exploded'));
  });
  const detail = await tether.api(`error_tracking/issues/${issue.id}`);
  assert.ok(detail.body.occurrences_list.some((o) => o.session_id === sessionId));

  // A backend log of this session now lists the issue; one stamped 7 hours earlier does not.
  const now = Date.now();
  const logId = await sendLog(tether.base, { body: `payment failed for ${sessionId}`, timeMs: now, attributes: { sessionId }, api: tether.api });
  const related = await tether.api(`logs/${logId}/related_errors`);
  assert.equal(related.body.status, 'ok');
  assert.ok(related.body.results.some((i) => i.id === issue.id), JSON.stringify(related.body));
  const oldId = await sendLog(tether.base, { body: `older log for ${sessionId}`, timeMs: now - 7 * 3600 * 1000, attributes: { sessionId }, api: tether.api });
  const oldRelated = await tether.api(`logs/${oldId}/related_errors`);
  assert.deepEqual(oldRelated.body.results, []);

  // The person behind the session is known.
  const distinctId = await page.evaluate(() => window.posthog.get_distinct_id());
  const person = await tether.api(`persons/${encodeURIComponent(distinctId)}`);
  assert.equal(person.status, 200);
  assert.ok(person.body.counts.sessions >= 1);
});
