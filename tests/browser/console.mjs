// Browser test of the duegate console: headless Chromium (Debian) driven by
// playwright-core against the seeded admin server (seed_admin). Usage:
//   node console.mjs BASE_URL TOKEN ARTIFACT_DIR
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const [base, token, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'dg-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1366, height: 900 },
});
const step = (s) => console.log('# ' + s);
let failed = false;
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const api = async (path) => {
    const r = await page.request.get(base + path, { headers: { Authorization: 'Bearer ' + token } });
    assert.equal(r.status(), 200, path);
    return r.json();
  };

  step('the page asks for the token, a wrong one is refused');
  await page.goto(base + '/');
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', 'wrong');
  await page.click('#login button[type=submit]');
  await page.locator('#login-error').filter({ hasText: 'refused' }).waitFor();

  step('the tracking table with the columns of the spec');
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.locator('#cases tbody tr[data-id]').first().waitFor();
  const heads = await page.locator('#cases thead th').allInnerTexts();
  for (const h of ['Customer', 'Order no.', 'Product', 'Balance', 'Due date', 'Last contact',
    'Customer feedback', 'Next step'])
    assert.ok(heads.some((x) => x.toLowerCase().includes(h.toLowerCase())), 'column ' + h);
  assert.equal(await page.locator('#cases tbody tr[data-id]').count(), 5);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('duegate.token')), token);
  const desk = page.locator('#cases tbody tr', { hasText: '#1002' });
  await desk.getByText('Walnut desk (pre-order)').waitFor();
  await desk.getByText('Can I pay half now and half next week?').waitFor();

  step('sort by balance (descending on the second click), filter by search');
  await page.click('#cases th[data-sort=balance]');
  await page.click('#cases th[data-sort=balance]');
  await page.locator('#cases th[data-sort=balance][aria-sort=descending]').waitFor();
  assert.match(await page.locator('#cases tbody tr').first().innerText(), /#1002/);
  await page.fill('#f-q', '1004');
  await page.locator('#page-info', { hasText: 'of 1' }).waitFor();
  assert.equal(await page.locator('#cases tbody tr[data-id]').count(), 1);
  await page.fill('#f-q', '');
  await page.locator('#page-info', { hasText: 'of 5' }).waitFor();
  await page.screenshot({ path: join(artifacts, 'console-table.png'), fullPage: true });

  step('the inbox shows the customer\'s words; reply handled with a note');
  await page.click('#nav-inbox');
  const card = page.locator('#inbox li.card', { hasText: '#1002' });
  await card.locator('blockquote', { hasText: 'Can I pay half now and half next week?' }).waitFor();
  await page.screenshot({ path: join(artifacts, 'console-inbox.png'), fullPage: true });
  const id = await card.getAttribute('data-id');
  await card.locator('input[type=text]').fill('Agreed: half now, half on the 15th');
  await card.locator('button.handled').click();
  await page.locator('#inbox li.empty').waitFor();
  let c = await api('/api/cases/' + id);
  assert.equal(c.needs_person, false);
  const handled = c.timeline.filter((t) => t.type === 'action' && t.what === 'reply_handled');
  assert.equal(handled.length, 1);
  assert.equal(handled[0].arg, 'Agreed: half now, half on the 15th');
  assert.equal(handled[0].who, 'browser-test');

  step('record a promise to pay from the case page');
  await page.goto(base + '/#/case/' + id);
  await page.locator('#case-head h2', { hasText: '#1002' }).waitFor();
  await page.fill('#promise-date', '2026-03-20');
  await page.click('#promise-form button[type=submit]');
  await page.locator('#case-head .pill', { hasText: 'promised' }).waitFor();
  await page.locator('#timeline li.t-action', { hasText: 'promise by browser-test' }).waitFor();
  c = await api('/api/cases/' + id);
  assert.equal(c.status, 'promised');
  assert.equal(c.promise_at, '2026-03-20T23:59:59Z');
  await page.screenshot({ path: join(artifacts, 'console-case.png'), fullPage: true });

  step('the chart of recovered amount per stage and channel');
  await page.click('#nav-numbers');
  await page.locator('#chart svg rect').first().waitFor();
  assert.ok(await page.locator('#chart svg rect title', { hasText: 'whatsapp' }).count() >= 1);
  await page.screenshot({ path: join(artifacts, 'console-numbers.png'), fullPage: true });

  step('a phone-sized screen: the table becomes cards');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#nav-cases');
  await page.locator('#cases tbody tr[data-id]').first().waitFor();
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 400, 'no horizontal scroll on a phone (width ' + w + ')');
  await page.screenshot({ path: join(artifacts, 'console-phone.png'), fullPage: true });

  assert.deepEqual(errors.filter((e) => !e.includes('401')), [], 'no script errors');
  step('ok');
} catch (e) {
  failed = true;
  console.error(e);
  try { await ctx.pages()[0].screenshot({ path: join(artifacts, 'console-failure.png'), fullPage: true }); } catch (_) { }
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
