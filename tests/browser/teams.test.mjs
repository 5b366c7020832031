// A team shares one Tether: an admin invites a member through a one-time link, the member
// sets their own password, switches to a second project, opens a colleague's link to a log
// there, and cannot manage people; removed by the admin, their session is refused at the
// next request and the UI sends them to the login page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { API_KEY, eventually, launchChromium, logIn, startTether } from './harness.mjs';

const artifacts = new URL('./artifacts/', import.meta.url).pathname;

test('an admin invites a member, who works across projects until removed', async (t) => {
  // Alerts checked every second, so the Staging alert below fires while the test runs; its
  // webhook goes to this machine, which Tether refuses unless allowed.
  const tether = await startTether({ config: '[alerts]\ninterval_secs = 1\nallowed_webhook_networks = ["127.0.0.0/8"]\n' });
  t.after(tether.stop);
  const browser = await launchChromium();
  t.after(() => browser.close());
  mkdirSync(artifacts, { recursive: true });
  const asOperator = (path, init = {}) =>
    fetch(`${tether.base}${path}`, { ...init, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' } });

  // A second project with a log of its own.
  const staging = await (await asOperator('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'Staging' }) })).json();
  const body = `staging checkout failed ${Date.now()}`;
  const sent = await fetch(`${tether.base}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${staging.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'staging-api' } }] },
      scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(Date.now()) * 1000000n), severityText: 'ERROR', body: { stringValue: body } }] }] }] }),
  });
  assert.equal(sent.status, 200);
  const logId = await eventually('the staging log', async () => {
    const r = await (await asOperator(`/api/projects/${staging.id}/logs?from=-1h&q=${encodeURIComponent(body)}`)).json();
    return r.results?.[0]?.id;
  });

  // An alert of the second project links to that project's logs, not the first one's.
  const alert = await asOperator(`/api/projects/${staging.id}/alerts`, {
    method: 'POST',
    body: JSON.stringify({ name: 'staging checkouts', webhook_url: 'http://127.0.0.1:9/hook',
      rule: { kind: 'log_threshold', query: 'q=staging checkout failed', threshold: 0, window_secs: 3600 } }),
  });
  assert.equal(alert.status, 201, await alert.clone().text());
  const alertId = (await alert.json()).id;
  const alertLink = await eventually('the alert to fire', async () => {
    const history = await (await asOperator(`/api/projects/${staging.id}/alerts/${alertId}/history`)).json();
    return history.results?.find((e) => e.payload?.status === 'firing')?.payload.link;
  });

  // The admin follows the alert's link, then invites a member from the Members page.
  const adminPage = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await logIn(adminPage, tether.base);
  await adminPage.goto(alertLink);
  await adminPage.waitForURL(new RegExp(`/project/${staging.id}/logs\\?`));
  await adminPage.waitForSelector(`.log-row:has-text("${body}")`);
  assert.equal(await adminPage.locator('select[aria-label=Project]').inputValue(), String(staging.id));
  await adminPage.click('a:has-text("Members")');
  await adminPage.waitForURL(/\/users$/);
  await adminPage.selectOption('select[aria-label="Role of the invited person"]', 'member');
  await adminPage.click('button:has-text("Create invitation link")');
  const link = await adminPage.locator('[data-testid=invite-link]').innerText();
  assert.match(link, new RegExp(`^${tether.base}/invite/tin_`));
  await adminPage.screenshot({ path: join(artifacts, 'people.png') });

  // The member opens the link in their own browser and chooses a password.
  const memberContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const member = await memberContext.newPage();
  await member.goto(link);
  await member.waitForSelector('text=admin invited you to join as');
  await member.screenshot({ path: join(artifacts, 'invite.png') });
  await member.fill('input[autocomplete=username]', 'grace');
  await member.fill('input[autocomplete=new-password] >> nth=0', 'grace-password-1');
  await member.fill('input[autocomplete=new-password] >> nth=1', 'grace-password-1');
  await member.click('button[type=submit]');
  await member.waitForURL(/\/project\/1\/logs/);
  await member.waitForSelector('.sidebar-foot:has-text("grace")');
  assert.match(await member.locator('.sidebar-foot').innerText(), /member/);
  // The link worked once.
  assert.equal((await fetch(`${tether.base}/api/invite/${link.split('/').pop()}`)).status, 404);

  // The member switches to the second project: the URL names it, its log is listed.
  await member.selectOption('select[aria-label=Project]', String(staging.id));
  await member.waitForURL(new RegExp(`/project/${staging.id}/logs`));
  await member.waitForSelector(`.log-row:has-text("${body}")`);
  await member.screenshot({ path: join(artifacts, 'project-switched.png') });

  // A colleague's link to that log (from project 1's page, say) opens it in its project.
  await member.goto(`${tether.base}/project/1/errors`);
  await member.waitForSelector('h2:has-text("Errors")');
  await member.goto(`${tether.base}/project/${staging.id}/logs/${logId}`);
  await member.waitForSelector(`.drawer :text("${body}")`);
  assert.equal(await member.locator('select[aria-label=Project]').inputValue(), String(staging.id));
  // An old link without a project goes to the first project's page.
  await member.goto(`${tether.base}/errors?status=active`);
  await member.waitForURL(/\/project\/1\/errors\?status=active$/);

  // The member cannot manage people: no menu entry, and the server refuses the page's data.
  assert.equal(await member.locator('.sidebar a:has-text("Members")').count(), 0);
  await member.goto(`${tether.base}/users`);
  await member.waitForSelector('[role=alert]:has-text("managing people needs the admin role; you are a member")');
  await member.click('a:has-text("Your account")');
  await member.waitForSelector('table[aria-label=Sessions] :text("this browser")');
  await member.screenshot({ path: join(artifacts, 'account.png') });

  // A contractor invited to Staging only: Production does not exist for them, until the admin
  // gives them a role there on the Members page.
  await adminPage.goto(`${tether.base}/users`);
  await adminPage.selectOption('select[aria-label="Role of the invited person"]', 'viewer');
  await adminPage.selectOption('select[aria-label="Projects of the invited person"]', String(staging.id));
  await adminPage.click('button:has-text("Create invitation link")');
  const contractorLink = await adminPage.locator('[data-testid=invite-link]').innerText();
  await adminPage.waitForSelector('table[aria-label="Pending invitations"] :text("Staging (viewer)")');
  const contractor = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await contractor.goto(contractorLink);
  await contractor.fill('input[autocomplete=username]', 'contractor');
  await contractor.fill('input[autocomplete=new-password] >> nth=0', 'contractor-password-1');
  await contractor.fill('input[autocomplete=new-password] >> nth=1', 'contractor-password-1');
  await contractor.click('button[type=submit]');
  await contractor.waitForURL(new RegExp(`/project/${staging.id}/logs`));
  await contractor.waitForSelector(`.log-row:has-text("${body}")`);
  const choices = await contractor.locator('select[aria-label=Project] option').allInnerTexts();
  assert.deepEqual(choices.filter((c) => !c.startsWith('+')), ['Staging'], 'only Staging is offered');
  await contractor.goto(`${tether.base}/project/1/logs`);
  await contractor.waitForSelector('h2:has-text("Project 1 not found")');
  const refused = await contractor.evaluate(async () => (await fetch('/api/projects/1/logs')).status);
  assert.equal(refused, 404);
  await adminPage.reload();
  await adminPage.selectOption('select[aria-label="Role of contractor in Default project"]', 'member');
  await adminPage.waitForSelector('[role=status]:has-text("contractor is now member in Default project.")');
  await adminPage.screenshot({ path: join(artifacts, 'people-projects.png') });
  await contractor.goto(`${tether.base}/project/1/errors`);
  await contractor.waitForSelector('h2:has-text("Errors")');

  // The admin removes the member; the member's next request is refused.
  await adminPage.reload();
  adminPage.once('dialog', (d) => d.accept());
  await adminPage.click('tr:has-text("grace") button:has-text("Remove")');
  await adminPage.waitForSelector('[role=status]:has-text("grace was removed.")');
  // The list is reloaded after the message shows: wait for the row to go (a timeout fails).
  await adminPage.waitForSelector('table[aria-label=Users] tr:has-text("grace")', { state: 'detached' });
  await member.click('a:has-text("Logs")');
  await member.waitForURL(/\/login/);
  const me = await member.evaluate(async () => (await fetch('/api/me')).status);
  assert.equal(me, 401);
});
