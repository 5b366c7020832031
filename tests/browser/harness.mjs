// Shared pieces of the browser tests: a real `tether serve` process on free ports, a tiny
// "customer app" (page + backend route) on another origin, and Debian's Chromium.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

export const TOKEN = 'phc_browsertests';
export const API_KEY = 'phx_browsertests';
export const ADMIN_PASSWORD = 'browser-tests-admin';

let databases = 0;

/**
 * With TETHER_BROWSER_STORAGE=clickhouse-postgres-s3 (scripts/test runs the capture and UI
 * tests a second time so), each Tether gets a `[storage]` section in a config file naming a
 * fresh ClickHouse database for logs, events and the recording index, a fresh PostgreSQL
 * database for its metadata and its own prefix in the S3 bucket for recording bytes, from
 * the services scripts/services.sh started. (`postgres-s3` leaves out ClickHouse.) Returns
 * the extra arguments, or none.
 */
function storageToml() {
  const mode = process.env.TETHER_BROWSER_STORAGE;
  if (!mode) return '';
  if (mode !== 'postgres-s3' && mode !== 'clickhouse-postgres-s3') throw new Error(`unknown TETHER_BROWSER_STORAGE ${mode}`);
  const admin = process.env.TETHER_TEST_POSTGRES_URL;
  const bucket = process.env.TETHER_TEST_S3_URL;
  const clickhouse = process.env.TETHER_TEST_CLICKHOUSE_URL;
  if (!admin || !bucket || (mode.startsWith('clickhouse') && !clickhouse)) {
    throw new Error(`TETHER_BROWSER_STORAGE=${mode} needs TETHER_TEST_POSTGRES_URL, TETHER_TEST_S3_URL and TETHER_TEST_CLICKHOUSE_URL (run scripts/test)`);
  }
  const name = `browser_${process.pid}_${databases++}`;
  execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${name}`]);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  let toml = `[storage]\npostgres_url = "${url}"\nblob_url = "${bucket.replace(/\/$/, '')}/${name}"\n`;
  if (mode.startsWith('clickhouse')) {
    const ch = new URL(clickhouse);
    ch.searchParams.set('database', name);
    toml += `clickhouse_url = "${ch}"\n`;
  }
  return toml;
}

/** What the banner must say each backend is, for the storage mode of this run. */
function expectedBackends() {
  const mode = process.env.TETHER_BROWSER_STORAGE;
  const wanted = [/Metadata: +PostgreSQL/, /Recording bytes: +S3 bucket/];
  if (mode?.startsWith('clickhouse')) wanted.push(/Logs, events, replays: +ClickHouse/);
  return wanted;
}

/**
 * Runs the release binary with `args` in a fresh data directory and resolves once its
 * output has matched every pattern of `ready` (name → regex with one group), with those groups.
 * `env` adds to the fixed project token and API key (by default the tests' admin password);
 * `config` is TOML added to the configuration file (beside this run's storage settings).
 */
export async function launchTether(args, ready, env = { TETHER_ADMIN_PASSWORD: ADMIN_PASSWORD }, config = '') {
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
  const bin = process.env.TETHER_BIN ?? join(targetDir, 'release', 'tether');
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-browser-'));
  // One configuration file: the storage of this run's mode and the test's own settings.
  const storageConfig = storageToml();
  const toml = storageConfig + config;
  const configFile = join(dataDir, 'tether.toml');
  if (toml) writeFileSync(configFile, toml);
  const otherBackends = storageConfig !== '';
  const configArgs = toml ? ['--config', configFile] : [];
  // The test runner's own TETHER_TEST_* variables are not Tether settings (it refuses unknown ones).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TETHER_')));
  const child = spawn(bin, [...args, ...configArgs, '--data-dir', dataDir], {
    env: { ...inherited, TETHER_PROJECT_TOKEN: TOKEN, TETHER_API_KEY: API_KEY, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const found = await new Promise((resolve, reject) => {
    let out = '';
    // A Tether that did not start as expected is stopped, so it cannot keep the test run alive.
    const fail = (error) => {
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`tether did not start:\n${out}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      // With other backends, also wait for the banner's last backend line before checking it.
      const wanted = otherBackends ? { ...ready, blobs: /Recording bytes: +(.+)\n/ } : ready;
      const matches = Object.fromEntries(Object.entries(wanted).map(([k, re]) => [k, out.match(re)?.[1]]));
      if (Object.values(matches).every(Boolean)) {
        clearTimeout(timer);
        if (otherBackends && !expectedBackends().every((re) => re.test(out))) {
          fail(new Error(`tether does not say it runs on ${process.env.TETHER_BROWSER_STORAGE}:\n${out}`));
          return;
        }
        resolve({ ...matches, output: () => out });
      }
    });
    exited.then(({ code }) => reject(new Error(`tether exited with ${code}:\n${out}`)));
    child.on('error', (e) => reject(new Error(`cannot run ${bin} (build it with cargo build --release): ${e.message}`)));
  });
  const api = async (path, init = {}) => {
    const resp = await fetch(`${found.base}/api/projects/1/${path}`, {
      ...init,
      headers: { authorization: `Bearer ${API_KEY}`, ...(init.headers ?? {}) },
    });
    return { status: resp.status, body: await resp.json() };
  };
  /** Stops the process (SIGTERM) and resolves with how it exited. */
  const stop = async () => {
    child.kill('SIGTERM');
    const how = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    return how;
  };
  return { ...found, api, stop };
}

/** `tether serve` on free ports. */
/** Starts `tether serve` on free ports; `config` is TOML added to its configuration file. */
export function startTether({ config = '' } = {}) {
  return launchTether(
    ['serve', '--http-addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0'],
    { base: /HTTP \(UI, API, OTLP\/HTTP\): (http:\/\/\S+)/ },
    undefined,
    config,
  );
}

const CHECKOUT = `<h1>Checkout</h1>
  <label>Card <input id="card" autocomplete="off"></label>
  <button id="pay">Pay</button>
  <p id="status"></p>`;

/**
 * Serves the customer app at http://localhost:PORT: a page using the unmodified posthog-js
 * (npm, pinned) against Tether, and a backend route that remembers the headers it got.
 * `body` replaces the page's checkout form (the Pay button calls the backend and throws);
 * `files` maps more paths to what they serve (scripts of the page, read on each request).
 */
export async function startApp(tetherBase, { body = CHECKOUT, files = {} } = {}) {
  const arrayJs = readFileSync(join(here, 'node_modules', 'posthog-js', 'dist', 'array.js'));
  const received = [];
  const page = `<!doctype html>
<html><head><title>Shop</title><script src="/posthog/array.js"></script></head>
<body>
  ${body}
  <script>
    posthog.init(${JSON.stringify(TOKEN)}, {
      api_host: ${JSON.stringify(tetherBase)},
      tracing_headers: ['localhost'],
      person_profiles: 'always',
      // Playwright sets navigator.webdriver, which posthog-js treats as a bot; its docs
      // say to set this in end-to-end tests.
      opt_out_useragent_filter: true,
    });
    document.getElementById('pay')?.addEventListener('click', async () => {
      const resp = await fetch('/api/checkout', { method: 'POST', body: JSON.stringify({ card: document.getElementById('card').value }) });
      document.getElementById('status').textContent = 'backend said ' + resp.status;
      setTimeout(() => { throw new Error('checkout exploded: card declined'); }, 0);
    });
  </script>
</body></html>`;
  const server = http.createServer((req, res) => {
    // The page also answers with a query string (tests tell tabs apart by it).
    if (req.url === '/' || req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    } else if (req.url === '/posthog/array.js') {
      res.writeHead(200, { 'content-type': 'application/javascript' }).end(arrayJs);
    } else if (files[req.url]) {
      res.writeHead(200, { 'content-type': 'application/javascript' }).end(readFileSync(files[req.url]));
    } else if (req.url === '/api/checkout') {
      received.push(req.headers);
      res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"payment gateway timeout"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://localhost:${server.address().port}/`;
  return { url, received, stop: () => server.close() };
}

/** Debian's Chromium, headless, with the flags this sandbox needs. */
export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually(what, fn, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** Sends one OTLP/JSON log to Tether; returns its id as the API reports it. */
export async function sendLog(tether, { body, timeMs, attributes, api }) {
  const attrs = Object.entries(attributes).map(([key, v]) => ({ key, value: { stringValue: v } }));
  const resp = await fetch(`${tether}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceLogs: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop-api' } }] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(timeMs) * 1000000n), severityText: 'ERROR', body: { stringValue: body }, attributes: attrs }] }],
      }],
    }),
  });
  if (resp.status !== 200) throw new Error(`log rejected: ${resp.status} ${await resp.text()}`);
  // Quoted: the body as one phrase of the query language, whatever it holds.
  const found = await api(`logs?from=-30d&q=${encodeURIComponent(JSON.stringify(body))}`);
  return found.body.results[0].id;
}

/** Tether, the customer app (`appOptions` as for startApp) and Chromium, each stopped when the test ends. */
export async function startStack(t, appOptions = {}, tetherConfig = '') {
  const tether = await startTether({ config: tetherConfig });
  t.after(tether.stop);
  const app = await startApp(tether.base, appOptions);
  t.after(app.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());
  return { tether, app, browser };
}

/**
 * Collects Content-Security-Policy violations on a page of Tether's UI — Chromium's console
 * reports ("Refused to … because it violates the following Content Security Policy
 * directive") from every frame, including the replay's, and the documents'
 * `securitypolicyviolation` events — so a test fails on any of them.
 */
export function watchCsp(page) {
  const violations = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|CSP violation/.test(msg.text())) violations.push(msg.text());
  });
  page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  return {
    violations,
    assertNone() {
      if (violations.length > 0) throw new Error(`CSP violations:\n${violations.join('\n')}`);
    },
  };
}

/** Logs `page` in to Tether's UI as the tests' admin. */
export async function logIn(page, tetherBase, username = 'admin', password = ADMIN_PASSWORD) {
  await page.goto(`${tetherBase}/login`);
  await page.fill('input[autocomplete=username]', username);
  await page.fill('input[type=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/logs/);
}

/** Sends OTLP/JSON logs, one resource per service. */
export async function sendLogs(base, logs) {
  const byService = new Map();
  for (const l of logs) byService.set(l.service, [...(byService.get(l.service) ?? []), l]);
  const resourceLogs = [...byService].map(([service, records]) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeLogs: [{
      logRecords: records.map((l) => ({
        timeUnixNano: String(BigInt(l.timeMs) * 1000000n),
        severityText: l.severity,
        body: { stringValue: l.body },
        attributes: Object.entries(l.attributes ?? {}).map(([key, v]) =>
          typeof v === 'number' ? { key, value: { intValue: String(v) } } : { key, value: { stringValue: v } },
        ),
      })),
    }],
  }));
  const resp = await fetch(`${base}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resourceLogs }),
  });
  if (resp.status !== 200) throw new Error(`logs rejected: ${resp.status} ${await resp.text()}`);
}
