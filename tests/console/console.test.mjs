// The console in headless Chromium (Debian's `chromium`, driven by playwright-core: nothing
// downloads a browser) against a running `scripts/serve`. Data goes in through the AWS CLI (an
// SDK client), and the page must show it. Run by tests/e2e (test_console_in_headless_chromium)
// with LOGBOOK_URL, AWS_CLI and CONSOLE_SCREENSHOTS set; alone:
//   LOGBOOK_URL=http://127.0.0.1:9000 node --test tests/console/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';

// playwright-core is installed with the other local tools (infra/local).
const require = createRequire(new URL('../../infra/local/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const BASE = process.env.LOGBOOK_URL ?? 'http://127.0.0.1:9000';
const KEY = process.env.CONSOLE_ACCOUNT ?? '300000000020'; // an account of its own (any key works locally)
const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? 'target/console';
const AWS = process.env.AWS_CLI ?? 'aws';
const GROUP = '/console/web';
mkdirSync(SHOTS, { recursive: true });

function cli(...args) {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'us-east-1' };
  const out = execFileSync(AWS, [...args, '--endpoint-url', BASE, '--output', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
}

function put(stream, messages, at = Date.now()) {
  const events = messages.map((message, i) => ({ timestamp: at + i, message }));
  cli('logs', 'put-log-events', '--log-group-name', GROUP, '--log-stream-name', stream, '--log-events', JSON.stringify(events));
}

const XSS = '<img src=x onerror=alert(1)>';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the console shows what the API holds, safely', { timeout: 240_000 }, async (t) => {
  // Data through the CLI: a group, two streams, plain, JSON and hostile messages, a metric filter.
  cli('logs', 'create-log-group', '--log-group-name', GROUP);
  cli('logs', 'create-log-stream', '--log-group-name', GROUP, '--log-stream-name', 'app-1');
  cli('logs', 'create-log-stream', '--log-group-name', GROUP, '--log-stream-name', 'app-2');
  const t0 = Date.now() - 20_000;
  put('app-1', ['GET /index.html 200 12ms', 'GET /missing 404 3ms', XSS], t0);
  put('app-2', ['{"level":"error","msg":"db timeout","latency":812}', 'POST /login 500 95ms'], t0 + 10);
  cli('logs', 'put-metric-filter', '--log-group-name', GROUP, '--filter-name', 'server-errors',
    '--filter-pattern', '[verb, path, status=5*, latency]',
    '--metric-transformations', 'metricName=ServerErrors,metricNamespace=Console,metricValue=1');

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 820 } });
  const errors = [];
  let dialogs = 0;
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
  try {
    // Sign in: a refused key shows AWS's message; then the right one.
    await page.goto(`${BASE}/console`);
    await page.getByLabel('Access key ID').fill(KEY);
    await page.getByLabel('Secret access key').fill('secret');
    assert.equal(await page.getByLabel('Region').inputValue(), 'us-east-1');
    await page.screenshot({ path: `${SHOTS}/sign-in.png` });
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Log groups: the group made through the CLI, its retention edited in place.
    const row = page.locator(`#log-groups tr[data-group="${GROUP}"]`);
    await row.waitFor();
    assert.equal(await row.locator('.retention-text').textContent(), 'Never expire');
    await row.locator('select.retention-select').selectOption('7');
    await page.waitForFunction(() => true);
    await sleep(300);
    const described = cli('logs', 'describe-log-groups', '--log-group-name-prefix', GROUP);
    assert.equal(described.logGroups[0].retentionInDays, 7, 'retention set through the console');
    assert.equal(await row.locator('td.num').nth(1).textContent(), '1', 'one metric filter');
    await page.screenshot({ path: `${SHOTS}/log-groups.png` });

    // Streams, newest first; then one stream's events.
    await row.getByRole('link', { name: GROUP }).click();
    await page.locator('#log-streams tr[data-stream]').first().waitFor();
    const streams = await page.locator('#log-streams tr[data-stream]').evaluateAll((rs) => rs.map((r) => r.dataset.stream));
    assert.deepEqual(streams, ['app-2', 'app-1'], 'ordered by last event, newest first');
    await page.screenshot({ path: `${SHOTS}/log-streams.png` });
    await page.getByRole('link', { name: 'app-1' }).click();
    await page.locator('#events tbody tr').nth(2).waitFor();
    assert.equal(await page.locator('#events tbody tr').count(), 3);

    // The hostile message is text: no image element, no dialog, no error.
    const xssCell = page.locator('#events td.message', { hasText: XSS });
    assert.equal(await xssCell.count(), 1, 'shown as text');
    assert.equal(await page.locator('#events img').count(), 0, 'no element made from a message');

    // The whole group: FilterLogEvents, the filter box, a parse error inline, JSON expanded.
    await page.goto(`${BASE}/console#/events/${encodeURIComponent(GROUP)}?range=1h`);
    await page.locator('#events tbody tr').nth(4).waitFor();
    assert.equal(await page.locator('#events tbody tr').count(), 5);
    assert.ok(await page.locator('#histogram rect').count() >= 1, 'a histogram of the shown range');
    await page.locator('#events button.expand').first().click();
    const pretty = await page.locator('#events pre.json').first().textContent();
    assert.match(pretty, /\n {2}"level": "error",\n/);
    await page.screenshot({ path: `${SHOTS}/events.png`, fullPage: true });
    await page.getByLabel('Filter pattern').fill('404');
    await page.getByLabel('Filter pattern').press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length === 1);
    assert.match(await page.locator('#events tbody tr').textContent(), /GET \/missing 404/);
    assert.equal(await page.locator('#events mark').textContent(), '404', 'the term highlighted');
    assert.match(page.url(), /pattern=404/, 'the pattern is in the location');
    await page.getByLabel('Filter pattern').fill('{ $.level = ');
    await page.getByLabel('Filter pattern').press('Enter');
    await page.locator('#pattern-error').filter({ hasText: 'InvalidParameterException' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/filter-error.png` });

    // Live tail: a new event put through the CLI shows within 3 s; nothing twice over a minute.
    await page.goto(`${BASE}/console#/tail/${encodeURIComponent(GROUP)}`);
    await page.locator('#tail tbody tr').nth(4).waitFor();
    const marker = `tail-marker-${Date.now()}`;
    put('app-1', [marker]);
    const acked = Date.now(); // the CLI returned: the event is stored
    await page.locator('#tail td.message', { hasText: marker }).waitFor({ timeout: 3_000 });
    t.diagnostic(`live tail: an event appeared ${Date.now() - acked} ms after its PutLogEvents returned`);
    for (let i = 0; i < 6; i += 1) {
      put('app-2', [`tick ${i}`]);
      await sleep(10_000);
    }
    const ids = await page.locator('#tail tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.event));
    assert.equal(new Set(ids).size, ids.length, 'no event shown twice');
    assert.equal(ids.length, 5 + 1 + 6, 'every event shown once');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/live-tail.png` });

    // Metric filter tester: the group's filter on pasted lines, values extracted.
    await page.goto(`${BASE}/console#/filters/${encodeURIComponent(GROUP)}`);
    await page.locator('#metric-filters button.use-filter').click();
    await page.getByLabel('Log lines to test, one per line').fill('GET / 200 1ms\nPOST /login 503 95ms');
    await page.getByRole('button', { name: 'Test pattern' }).click();
    await page.locator('#test-results tr.match').waitFor();
    assert.equal(await page.locator('#test-results tr.match').count(), 1);
    assert.match(await page.locator('#test-results td.values').textContent(), /\$status = 503/);
    await page.screenshot({ path: `${SHOTS}/metric-filter-tester.png` });

    // Audit history: the calls made above, expandable to their records.
    await page.goto(`${BASE}/console#/audit?attr=EventName&value=CreateLogGroup&range=1h`);
    await page.locator('#audit tr.audit-row').first().waitFor();
    await page.locator('#audit tr.audit-row button.expand').first().click();
    assert.match(await page.locator('#audit pre.json').first().textContent(), /"eventName": "CreateLogGroup"/);
    await page.screenshot({ path: `${SHOTS}/audit-history.png` });

    // Sign out forgets the key.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);

    assert.equal(dialogs, 0, 'no script ran from a message');
    // The browser reports the deliberately bad pattern's 400 answer itself; nothing else.
    assert.deepEqual(errors.filter((e) => !/status of 400 \(Bad Request\)/.test(e)), [], 'no page errors');
  } finally {
    await browser.close();
    cli('logs', 'delete-log-group', '--log-group-name', GROUP);
  }
});

test('with signatures verified, a refused key shows AWS error message and a good one signs in', { timeout: 60_000 }, async (t) => {
  // Only meaningful where signatures are verified (LOGBOOK_AUTH=sigv4; tests/e2e runs it so).
  if (process.env.LOGBOOK_AUTH !== 'sigv4') { t.skip('scripts/serve accepts any key unless LOGBOOK_AUTH=sigv4'); return; }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${BASE}/console`);
    await page.getByLabel('Access key ID').fill('AKIDNOTAKEY');
    await page.getByLabel('Secret access key').fill('nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#sign-in-error').filter({ hasText: 'UnrecognizedClientException' }).waitFor();
    await page.getByLabel('Access key ID').fill(process.env.CONSOLE_KEY);
    await page.getByLabel('Secret access key').fill(process.env.CONSOLE_SECRET);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#log-groups').waitFor();
  } finally {
    await browser.close();
  }
});
