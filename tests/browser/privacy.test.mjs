// A project's privacy settings reach the unmodified posthog-js through remote config, and the
// browser applies them before sending: what is typed, masked text and blocked elements are
// not in the stored snapshots. A first session with masking off shows the same page's text
// does arrive, so the absence later is the settings' doing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, eventually } from './harness.mjs';

const PAGE = `<h1>Public heading</h1>
  <label>Note <input id="note" autocomplete="off"></label>
  <p class="secret">top-secret-4411</p>
  <div id="blocked"><p>blocked-content-5533</p></div>`;

/** Opens the app in a fresh context (a new session), types `text`, and returns the stored snapshots' JSON. */
async function recordTyping(browser, app, tether, text) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(app.url);
    await page.waitForFunction(() => window.posthog?.__loaded);
    await page.waitForFunction(() => window.posthog.sessionRecordingStarted(), null, { timeout: 30_000 });
    const sessionId = await page.evaluate(() => window.posthog.get_session_id());
    await page.mouse.move(30, 30);
    await page.click('#note');
    await page.keyboard.type(text, { delay: 20 });
    await page.mouse.move(220, 140, { steps: 6 });
    // Input events (rrweb incremental source 5) carry what the field holds once typed.
    return await eventually(`the typing of session ${sessionId} in its snapshots`, async () => {
      const r = await tether.api(`recordings/${sessionId}/snapshots`);
      if (r.status !== 200) return null;
      const events = r.body.windows.flatMap((w) => w.events);
      const full = events.some((e) => e.type === 2);
      const typed = events.filter((e) => e.type === 3 && e.data?.source === 5);
      return full && typed.some((e) => e.data.text?.length === text.length) && JSON.stringify(r.body);
    });
  } finally {
    await context.close();
  }
}

test('masking and blocking set in the project are applied by posthog-js before anything is stored', async (t) => {
  const { tether, app, browser } = await startStack(t, { body: PAGE });

  const off = await tether.api('settings', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ privacy: { mask_all_inputs: false } }),
  });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  const open = await recordTyping(browser, app, tether, 'visible-typed-7731');
  for (const text of ['Public heading', 'visible-typed-7731', 'top-secret-4411', 'blocked-content-5533']) {
    assert.ok(open.includes(text), `without masking, "${text}" is recorded`);
  }

  const on = await tether.api('settings', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ privacy: { mask_all_inputs: true, mask_text_selector: '.secret', block_selector: '#blocked' } }),
  });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  const masked = await recordTyping(browser, app, tether, 'hidden-typed-9902');
  assert.ok(masked.includes('Public heading'), 'the rest of the page is still recorded');
  for (const text of ['hidden-typed-9902', 'top-secret-4411', 'blocked-content-5533']) {
    assert.ok(!masked.includes(text), `"${text}" must not reach Tether`);
  }
  // The masked paragraph is still there, as asterisks of the same length.
  assert.ok(masked.includes('*'.repeat('top-secret-4411'.length)));
});
