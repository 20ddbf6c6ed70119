// The status page in Debian's chromium (headless), driven by puppeteer-core:
//   node status_page_check.mjs '<settings JSON>'   (browser_suite.py writes the settings)
// The gateway already has a cooling key (rl-a, 429) and a quarantined one (rv-a, 401).
// Prints PASS/FAIL per check; exit status 0 when all passed.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const S = JSON.parse(process.argv[2]);
mkdirSync(S.artifacts, { recursive: true });

class CheckFailed extends Error {}
function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function json(url, options = {}) {
  const r = await fetch(url, options);
  if (!r.ok) throw new CheckFailed(`${options.method || 'GET'} ${url}: HTTP ${r.status}`);
  return r.json();
}
const mockStats = async (id) =>
  (await json(`${S.mock}/_mock/stats`)).keys[id] || { requests: 0, by_status: {} };

// n chat requests for `model` through HAProxy; the ids of the keys that served them.
async function serve(model, n) {
  const served = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${S.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: S.client_auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 }),
    });
    await r.arrayBuffer();
    expect(r.status === 200, `${model} request ${i}: HTTP ${r.status}`);
    served.push(r.headers.get('x-mock-key-id'));
  }
  return served;
}

const browser = await puppeteer.launch({
  executablePath: S.chromium,
  headless: true,
  userDataDir: S.profile,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-dev-shm-usage'],
});

// Every request the page makes, to check that the token never rides in a URL.
const requested = [];
const consoleErrors = [];
async function newPage(width = 1280, height = 900) {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  page.on('request', (r) => requested.push({ url: r.url(), headers: r.headers() }));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return page;
}

async function login(page, base, token) {
  await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#token', { visible: true });
  await page.type('#token', token);
  await page.click('#login-form button[type=submit]');
}

// The row of a key: {state, cause, countdown, button text} as the page shows them.
async function keyRow(page, id) {
  return page.evaluate((keyId) => {
    for (const tr of document.querySelectorAll('table.keys tbody tr')) {
      const cells = tr.querySelectorAll('td');
      if (cells[0].textContent !== keyId) continue;
      return {
        state: cells[1].querySelector('.state').textContent,
        stateClass: cells[1].querySelector('.state').className,
        cause: cells[1].querySelector('.cause').textContent,
        countdown: cells[2].textContent,
        fingerprint: cells[7].textContent,
        button: cells[8].textContent,
      };
    }
    return null;
  }, id);
}
async function waitForKey(page, id, predicate, what, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  let row = null;
  while (Date.now() < deadline) {
    row = await keyRow(page, id);
    if (row && predicate(row)) return row;
    await sleep(100);
  }
  throw new CheckFailed(`key ${id}: ${what}; the page shows ${JSON.stringify(row)}`);
}
async function clickKeyButton(page, id) {
  const clicked = await page.evaluate((keyId) => {
    for (const tr of document.querySelectorAll('table.keys tbody tr')) {
      const cells = tr.querySelectorAll('td');
      if (cells[0].textContent === keyId) { cells[8].querySelector('button').click(); return true; }
    }
    return false;
  }, id);
  expect(clicked, `no row for key ${id}`);
  await page.waitForSelector('#confirm[open]', { visible: true });
}

let page;
const checks = [
  ['a wrong token shows the login error and is not kept', async () => {
    page = await newPage();
    await login(page, S.admin, 'not-the-admin-token');
    await page.waitForSelector('#login-error:not([hidden])', { visible: true });
    const error = await page.$eval('#login-error', (e) => e.textContent);
    expect(/wrong admin token/i.test(error), `login error: "${error}"`);
    expect(await page.$eval('#status', (e) => e.hidden), 'the status shows without a token');
    const kept = await page.evaluate(() => sessionStorage.length);
    expect(kept === 0, 'a wrong token was kept in sessionStorage');
  }],
  ['the right token opens the page and polls /v1/status with a Bearer header', async () => {
    await page.$eval('#token', (e) => { e.value = ''; });
    await page.type('#token', S.token);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('table.keys tbody tr', { visible: true });
    const stored = await page.evaluate(() => Object.values(sessionStorage));
    expect(stored.includes(S.token), 'the token is not in sessionStorage');
    const before = requested.filter((r) => r.url.endsWith('/v1/status')).length;
    await sleep(2600);
    const polls = requested.filter((r) => r.url.endsWith('/v1/status'));
    expect(polls.length - before >= 2 && polls.length - before <= 4,
      `${polls.length - before} polls in 2.6 s, want one a second`);
    expect(polls.every((r) => r.headers.authorization === `Bearer ${S.token}` ||
      r.headers.authorization === 'Bearer not-the-admin-token'), 'a poll without the Bearer header');
    const meta = await page.$eval('#meta', (e) => e.textContent);
    expect(/version \S+ · config \S+gateway\.yaml · loaded/.test(meta), `header: "${meta}"`);
  }],
  ['the cooling key shows its cause and a countdown that runs', async () => {
    const row = await waitForKey(page, 'rl-a', (r) => r.state === 'cooling', 'not cooling');
    expect(row.cause === 'rate_limited', `rl-a cause "${row.cause}"`);
    expect(/cooling/.test(row.stateClass), `rl-a class ${row.stateClass}`);
    const first = parseInt(row.countdown, 10);
    expect(first > 0 && first <= 30, `rl-a countdown "${row.countdown}"`);
    await sleep(2200);
    const later = parseInt((await keyRow(page, 'rl-a')).countdown, 10);
    expect(later < first, `the countdown does not run: ${first} s, then ${later} s`);
  }],
  ['the quarantined key shows its reason; the provider is degraded', async () => {
    const row = await waitForKey(page, 'rv-a', (r) => r.state === 'quarantined', 'not quarantined');
    expect(row.cause === 'upstream 401', `rv-a reason "${row.cause}"`);
    expect(row.button === 'Enable', `rv-a button "${row.button}"`);
    expect(/^sha256:[0-9a-f]{8}$/.test(row.fingerprint), `fingerprint "${row.fingerprint}"`);
    const health = await page.evaluate(() => {
      for (const d of document.querySelectorAll('details.provider')) {
        if (d.querySelector('.name').textContent === 'revoke') {
          return d.querySelector('summary .state').textContent;
        }
      }
      return null;
    });
    expect(health === 'degraded', `provider revoke health "${health}"`);
    const events = await page.$$eval('#events li', (items) => items.map((li) => li.textContent));
    expect(events.some((e) => /rv-a.*quarantined: upstream 401/.test(e)), 'no quarantine event');
    expect(events.some((e) => /rl-a.*cooling until/.test(e)), 'no cooling event');
    await page.screenshot({ path: path.join(S.artifacts, 'status-page.png'), fullPage: true });
  }],
  ['the confirmation can be cancelled: nothing changes', async () => {
    await clickKeyButton(page, 'op-a');
    const text = await page.$eval('#confirm-text', (e) => e.textContent);
    expect(/Disable key "op-a" of provider "ops"/.test(text), `confirmation "${text}"`);
    await page.click('#confirm button[value=cancel]');
    await sleep(1500);
    const row = await keyRow(page, 'op-a');
    expect(row.state === 'ok', `op-a after a cancel: ${row.state}`);
  }],
  ['disabling a key from the page moves its traffic (mock stats)', async () => {
    const both = new Set(await serve('gpt-ops', 6));
    expect(both.has('op-a') && both.has('op-b'), `before: served by ${[...both]}`);
    await clickKeyButton(page, 'op-a');
    await page.click('#confirm-ok');
    await waitForKey(page, 'op-a', (r) => r.state === 'disabled', 'not disabled');
    const before = (await mockStats('op-a')).requests;
    const served = await serve('gpt-ops', 8);
    expect(served.every((id) => id === 'op-b'), `op-a disabled, yet served ${served}`);
    expect((await mockStats('op-a')).requests === before, 'a disabled key went upstream');
    await clickKeyButton(page, 'op-a');
    await page.click('#confirm-ok');
    await waitForKey(page, 'op-a', (r) => r.state === 'ok', 'not enabled again');
    const again = await serve('gpt-ops', 8);
    expect(again.includes('op-a'), `op-a enabled, yet served ${again}`);
    expect((await mockStats('op-a')).requests > before, 'op-a got no traffic back');
    const events = await page.$$eval('#events li', (items) => items.map((li) => li.textContent));
    expect(/enabled.*op-a/.test(events[0]) || /op-a.*enabled/.test(events[0]),
      `newest event: ${events[0]}`);
  }],
  ['the page keeps working through a config reload', async () => {
    await json(`${S.admin}/v1/reload`, {
      method: 'POST', headers: { authorization: `Bearer ${S.token}` },
    });
    await page.waitForFunction(() => [...document.querySelectorAll('#events li')]
      .some((li) => /configuration loaded/.test(li.textContent)), { timeout: 5000 });
    const row = await keyRow(page, 'rv-a');
    expect(row.state === 'quarantined', 'rv-a lost its quarantine over the reload');
    expect(!(await page.$eval('#status', (e) => e.classList.contains('stale'))), 'stale');
  }],
  ['an unreachable agent is said clearly, and the page recovers', async () => {
    await page.setRequestInterception(true);
    const refuse = (r) => (r.url().endsWith('/v1/status') ? r.abort('connectionrefused')
      : r.continue());
    page.on('request', refuse);
    await page.waitForSelector('#unreachable:not([hidden])', { visible: true, timeout: 5000 });
    const banner = await page.$eval('#unreachable', (e) => e.textContent);
    expect(/agent is unreachable/.test(banner), `banner "${banner}"`);
    expect(await page.$eval('#conn', (e) => e.textContent) === 'unreachable', 'no offline pill');
    page.off('request', refuse);
    await page.setRequestInterception(false);
    await page.waitForSelector('#unreachable', { hidden: true, timeout: 5000 });
  }],
  ['a key name with markup is rendered as text; unknown states neutrally', async () => {
    // Config validation already refuses such ids; the page must not rely on it.
    const evil = '<img src=x id=xss-probe onerror="window.__xss=1">';
    await page.setRequestInterception(true);
    const inject = async (r) => {
      if (!r.url().endsWith('/v1/status')) { r.continue(); return; }
      const real = await fetch(r.url(), { headers: r.headers() });
      const status = await real.json();
      const copy = { ...status.keys[0], id: evil, provider: '<b id=xss-bold>evil</b>' };
      status.keys.push(copy);
      // States the page may not know yet render neutrally; "ejected" has its colour.
      // An ejected key as the router reports one: its ejection ends in 30 s.
      status.keys.push({ ...status.keys[0], id: 'probe-ejected', state: 'ejected',
        health: 'ejected', ejections_total: 2, cooldown_seconds: 0,
        ejected_until: new Date(Date.parse(status.now) + 30000).toISOString() });
      status.keys.push({ ...status.keys[0], id: 'probe-mystery', state: 'mystery' });
      status.providers.push({ name: copy.provider, health: '<i>bad</i>', keys: 1, keys_ok: 1 });
      status.clients.push({ ...status.clients[0], name: '<script>window.__xss=2</script>' });
      r.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(status) });
    };
    page.on('request', inject);
    try {
      await waitForKey(page, evil, () => true, 'not shown as text');
      const probe = await page.evaluate(() => ({
        img: !!document.getElementById('xss-probe'),
        bold: !!document.getElementById('xss-bold'),
        xss: window.__xss,
        client: [...document.querySelectorAll('#clients td')].some((td) =>
          td.textContent === '<script>window.__xss=2</script>'),
      }));
      expect(!probe.img && !probe.bold && probe.xss === undefined, JSON.stringify(probe));
      expect(probe.client, 'the client name with markup is not shown as text');
      const ejected = await keyRow(page, 'probe-ejected');
      expect(ejected && ejected.stateClass === 'state ejected' &&
        ejected.cause === 'provider faults (2 ejections)' && /^\d+ s$/.test(ejected.countdown),
        `ejected: ${JSON.stringify(ejected)}`);
      const mystery = await keyRow(page, 'probe-mystery');
      expect(mystery && mystery.state === 'mystery' && mystery.stateClass === 'state',
        `unknown state: ${JSON.stringify(mystery)}`);
    } finally {
      page.off('request', inject);
      await page.setRequestInterception(false);
    }
  }],
  ['the token never rides in a URL; the headers are set', async () => {
    expect(requested.length > 0, 'no request seen');
    for (const r of requested) {
      expect(!r.url.includes(S.token) && !r.url.includes('not-the-admin-token'),
        `token in a URL: ${r.url}`);
    }
    const r = await fetch(`${S.admin}/`);
    expect(r.headers.get('cache-control') === 'no-store', 'Cache-Control');
    expect(/script-src 'self'/.test(r.headers.get('content-security-policy')) &&
      /frame-ancestors 'none'/.test(r.headers.get('content-security-policy')), 'CSP');
    expect(r.headers.get('x-frame-options') === 'DENY', 'X-Frame-Options');
    expect(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
    const errors = consoleErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load/.test(e));
    expect(errors.length === 0, `console errors: ${errors.join(' | ')}`);
  }],
  ['a phone shows the page without sideways scrolling', async () => {
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await sleep(1200);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 392, `the page is ${width} px wide on a 390 px screen`);
    await page.screenshot({ path: path.join(S.artifacts, 'status-page-phone.png') });
  }],
  ['1,000 keys: grouped by provider, filterable, live, usable on a phone', async () => {
    const big = await newPage();
    await login(big, S.scale_admin, S.token);
    const start = Date.now();
    await big.waitForFunction(() => document.querySelectorAll('table.keys tbody tr').length === 1000,
      { timeout: 15000 });
    const firstRender = Date.now() - start;
    const groupsShown = await big.$$eval('details.provider', (d) => d.length);
    expect(groupsShown === 10, `${groupsShown} provider groups`);
    // While it polls, the longest gap between two frames: a render that blocks
    // the page for long would show here.
    const maxFrameGap = await big.evaluate(() => new Promise((resolve) => {
      let last = performance.now();
      let worst = 0;
      const end = last + 3000;
      const frame = (t) => {
        worst = Math.max(worst, t - last);
        last = t;
        if (t < end) requestAnimationFrame(frame); else resolve(Math.round(worst));
      };
      requestAnimationFrame(frame);
    }));
    await big.type('#filter', 'key-0042');
    await sleep(200);
    const visible = await big.$$eval('table.keys tbody tr:not(.hidden-row)', (r) => r.length);
    const groupsVisible = await big.$$eval('details.provider:not([hidden])', (d) => d.length);
    expect(visible === 1 && groupsVisible === 1, `filter: ${visible} rows, ${groupsVisible} groups`);
    const counts = await big.$eval('#counts', (e) => e.textContent);
    expect(counts === '1 of 1000 keys shown', `counts "${counts}"`);
    await sleep(1500);  // the filter holds over polls
    expect(await big.$$eval('table.keys tbody tr:not(.hidden-row)', (r) => r.length) === 1,
      'the filter did not hold over a poll');
    expect(maxFrameGap < 1000, `the page froze for ${maxFrameGap} ms while polling 1,000 keys`);
    // A phone viewport reloads the page: the token stays in the tab's sessionStorage.
    await big.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await big.waitForFunction(() => document.querySelectorAll('table.keys tbody tr').length === 1000,
      { timeout: 15000 });
    await big.$eval('#filter', (e) => { e.value = 'provider-03 key-00'; e.dispatchEvent(new Event('input')); });
    await sleep(1200);
    const width = await big.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 392, `1,000 keys: ${width} px wide on a 390 px screen`);
    await big.screenshot({ path: path.join(S.artifacts, 'status-page-1000-keys-phone.png') });
    console.log(`      1,000 keys: first render ${firstRender} ms after login; ` +
      `longest frame gap ${maxFrameGap} ms over 3 s of polling`);
    await big.close();
  }],
];

let passed = 0;
let failed = 0;
for (const [name, check] of checks) {
  const start = Date.now();
  try {
    await check();
    passed++;
    console.log(`  PASS ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name} (${((Date.now() - start) / 1000).toFixed(1)} s): ` +
      (e instanceof CheckFailed ? e.message : e.stack));
    if (page) {
      await page.screenshot({ path: path.join(S.artifacts, `failed-${passed + failed}.png`),
        fullPage: true }).catch(() => {});
    }
  }
}
await browser.close();
console.log(`  browser checks: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
