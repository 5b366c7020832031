// A small app bundled and minified by esbuild, prepared and uploaded with the real
// posthog-cli pointed at Tether, throws in Chromium under the unmodified posthog-js: the
// issue shows the function and line as written. A rebuild with everything moved joins the
// same issue. (scripts/test installs posthog-cli and sets POSTHOG_CLI.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { API_KEY, startTether, startApp, launchChromium, eventually, logIn } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const source = join(here, 'sourcemap-app', 'src', 'checkout.js');
/** The 1-based line of the `throw` in the source as written. */
const throwLine = readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes('throw new Error')) + 1;

/** Bundles the app into `dir` (minified, with a source map), then `posthog-cli sourcemap inject` and `upload`. */
async function buildAndUpload(tetherBase, dir, banner) {
  await build({ entryPoints: [source], bundle: true, minify: true, sourcemap: true, format: 'iife', outfile: join(dir, 'checkout.js'), banner: { js: banner } });
  const cli = process.env.POSTHOG_CLI ?? 'posthog-cli';
  const env = { ...process.env, POSTHOG_CLI_API_KEY: API_KEY, POSTHOG_CLI_PROJECT_ID: '1' };
  // Run from the repository (a git checkout), so the CLI resolves and registers a release.
  const run = (...args) => execFileSync(cli, ['--host', tetherBase, 'sourcemap', ...args, '--directory', dir], { cwd: here, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run('inject');
  const bundle = readFileSync(join(dir, 'checkout.js'), 'utf8');
  assert.match(bundle, /\/\/# chunkId=[0-9a-f-]{36}/, 'posthog-cli injected a chunk id');
  run('upload');
  return bundle.match(/chunkId=([0-9a-f-]{36})/)[1];
}

/** Clicks Pay on a fresh page and returns the issue the uncaught error became (once it has `occurrences`). */
async function throwOnce(browser, app, tether, occurrences) {
  const page = await browser.newPage();
  await page.goto(app.url);
  await page.waitForFunction(() => window.posthog?.__loaded);
  await page.fill('#card', '4242 4242 4242 4242');
  await page.click('#pay');
  const issue = await eventually('the issue of the uncaught error', async () => {
    const r = await tether.api('error_tracking/issues');
    return r.body.results.find((i) => i.description.includes('checkout exploded') && i.occurrences >= occurrences);
  });
  await page.close();
  return issue;
}

test('frames of a minified bundle read as written, with maps uploaded by posthog-cli', async (t) => {
  const tether = await startTether();
  t.after(tether.stop);
  const work = mkdtempSync(join(tmpdir(), 'tether-sourcemaps-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const dist = { current: join(work, 'v1') };
  const app = await startApp(tether.base, {
    body: `<label>Card <input id="card" autocomplete="off"></label><button id="pay">Pay</button><script src="/app/checkout.js"></script>`,
    files: { get '/app/checkout.js'() { return join(dist.current, 'checkout.js'); } },
  });
  t.after(app.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());

  const chunk = await buildAndUpload(tether.base, dist.current, '/* build 1 */');
  const issue = await throwOnce(browser, app, tether, 1);
  const detail = (await tether.api(`error_tracking/issues/${issue.id}`)).body;
  const frames = detail.latest_exception[0].stacktrace.frames;
  const top = frames[frames.length - 1];
  assert.equal(top.chunk_id, chunk, 'posthog-js sent the injected chunk id');
  assert.equal(top.resolved, true, JSON.stringify(top));
  assert.equal(top.function, 'explodeCheckout');
  assert.match(top.filename, /sourcemap-app\/src\/checkout\.js$/);
  assert.equal(top.lineno, throwLine);
  assert.match(top.context_line, /throw new Error/);
  assert.notEqual(top.raw.function, 'explodeCheckout', 'the minified name is kept as sent');
  assert.match(top.raw.filename, /\/app\/checkout\.js$/, "the frame as the browser reported it");
  // A rebuild moves every position (and may rename everything); its map is uploaded too.
  dist.current = join(work, 'v2');
  const chunk2 = await buildAndUpload(tether.base, dist.current, '/* build 2 */var __build=2;function __unused(){return __build*3}');
  assert.notEqual(chunk2, chunk);
  const again = await throwOnce(browser, app, tether, 2);
  assert.equal(again.id, issue.id, 'the rebuild joins the same issue');
  const issues = (await tether.api('error_tracking/issues')).body.results;
  assert.equal(issues.filter((i) => i.description.includes('checkout exploded')).length, 1);

  // The issue page shows the function and source as written; "Show raw" the minified frame.
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await logIn(page, tether.base);
  await page.goto(`${tether.base}/errors/${issue.id}`);
  await page.waitForSelector('.frames code:text-is("explodeCheckout")');
  await page.waitForSelector('.source-context .context-line:has-text("throw new Error")');
  await page.screenshot({ path: join(artifacts, 'issue-sourcemap.png') });
  await page.check('text=Show raw (minified) frames');
  await page.waitForSelector(`.frames .muted:has-text("/app/checkout.js:${top.raw.lineno}:")`);
  assert.equal(await page.locator('.frames code:text-is("explodeCheckout")').count(), 0);
});
