// A session that spans two tabs (one posthog-js session, two rrweb windows) plays both: the
// replay shows which tab is on screen and follows the person from one tab to the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, logIn, eventually } from './harness.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

// Each tab says which one it is, so the replay's visible tab can be told apart.
const PAGE = `<h1 id="where"></h1><label>Note <input id="note" autocomplete="off"></label>
  <script>document.getElementById('where').textContent = 'This is tab ' + new URLSearchParams(location.search).get('tab');</script>`;

async function openTab(context, url, name) {
  const page = await context.newPage();
  await page.goto(`${url}?tab=${name}`);
  await page.waitForFunction(() => window.posthog?.__loaded);
  await page.waitForFunction(() => window.posthog.sessionRecordingStarted(), null, { timeout: 30_000 });
  return page;
}

async function useTab(page, text) {
  await page.bringToFront();
  await page.mouse.move(30, 30);
  await page.mouse.move(200, 120, { steps: 6 });
  await page.click('#note');
  await page.keyboard.type(text, { delay: 30 });
}

/** The start of the first activity (an rrweb input event) of a window. */
const firstInput = (w) => w.events.find((e) => e.type === 3 && e.data?.source === 5)?.timestamp;

test('a two-tab session plays both tabs, following the person between them', async (t) => {
  const { tether, app, browser } = await startStack(t, { body: PAGE });

  const context = await browser.newContext();
  const one = await openTab(context, app.url, 'one');
  await useTab(one, 'first tab');
  const two = await openTab(context, app.url, 'two');
  const sessionId = await one.evaluate(() => window.posthog.get_session_id());
  assert.equal(await two.evaluate(() => window.posthog.get_session_id()), sessionId, 'one session across tabs');
  await new Promise((r) => setTimeout(r, 1500));
  await useTab(two, 'second tab');
  await new Promise((r) => setTimeout(r, 1500));
  await useTab(one, 'back in one');

  const tabOf = (w) => (JSON.stringify(w.events).includes('?tab=two') ? 'two' : 'one');
  const inputs = (w) => w.events.filter((e) => e.type === 3 && e.data?.source === 5).map((e) => e.timestamp);
  // Both tabs' windows, with tab one's typing after tab two's (the person came back).
  const [tabOne, tabTwo] = await eventually('two windows with all their typing', async () => {
    const r = await tether.api(`recordings/${sessionId}/snapshots`);
    const ws = (r.status === 200 ? r.body.windows : []).filter((w) => w.events.some((e) => e.type === 2) && firstInput(w));
    const o = ws.find((w) => tabOf(w) === 'one');
    const w2 = ws.find((w) => tabOf(w) === 'two');
    return o && w2 && inputs(o).some((ts) => ts > firstInput(w2)) && [o, w2];
  });
  await context.close();

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await logIn(page, tether.base);
  const onScreen = () => page.frameLocator('.window-root:visible iframe').locator('#where');

  // At the moment the person types in tab two, tab two is on screen.
  const inTwo = firstInput(tabTwo) + 200;
  await page.goto(`${tether.base}/replay/${sessionId}?t=${inTwo}`);
  await page.waitForSelector('[data-testid=tab-indicator]:has-text("2 tabs")');
  await eventually('tab two on screen', async () => (await onScreen().textContent({ timeout: 1000 })) === 'This is tab two');
  const pressed = () => page.locator('[data-testid=tab-indicator] button[aria-pressed=true]').textContent();
  const tabTwoLabel = await pressed();
  await page.screenshot({ path: join(artifacts, 'replay-two-tabs.png') });

  // Played from before the person comes back to tab one, the replay follows them there.
  const backInOne = inputs(tabOne).find((ts) => ts > inTwo);
  await page.goto(`${tether.base}/replay/${sessionId}?t=${backInOne - 1500}`);
  await eventually('tab two on screen before the switch', async () => (await onScreen().textContent({ timeout: 1000 })) === 'This is tab two');
  await page.click('button:has-text("Play")');
  await eventually('tab one on screen after the switch', async () => (await onScreen().textContent({ timeout: 1000 })) === 'This is tab one', 20_000);
  assert.notEqual(await pressed(), tabTwoLabel, 'the indicator follows');
});
