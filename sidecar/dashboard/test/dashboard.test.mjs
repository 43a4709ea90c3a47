// The dashboard in headless Chromium against a keryud of its own: keryud
// on a free port with a fresh store fed by t/api/fill.c, the built files
// served by keryud itself, every view visited and photographed, and the
// page watched for console errors and CSP violations throughout.
//
//     KERYUD=build/keryud DASHBOARD_DIR=build/dashboard \
//     DASHBOARD_TEST_OUT=build/dashboard-test node --test sidecar/dashboard/test/
//
// (run from the repository's root; "make test-dashboard" does all this)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const keryud = resolve(process.env.KERYUD ?? 'build/keryud');
const root = resolve(process.env.DASHBOARD_DIR ?? 'build/dashboard');
const out = resolve(process.env.DASHBOARD_TEST_OUT ?? 'build/dashboard-test');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const dir = mkdtempSync(join(tmpdir(), 'keryud-dashboard-'));
const token = {};
let port;
let base;
let daemon;
let browser;

function freePort() {
    return new Promise((res, rej) => {
        const s = createServer();
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    });
}

// polls check every 50 ms until it returns a truthy value, for up to ms
async function until(check, what, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await check().catch(() => null);
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

function fill(n, ...args) {
    execFileSync(join(dir, 'fill'), [join(dir, 'store'), String(n), ...args]);
}

async function apiCall(method, path, role, body) {
    const r = await fetch(`${base}/api/security/${path}`, {
        method,
        headers: { Authorization: `Bearer ${token[role]}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text && r.headers.get('content-type') === 'application/json' ? JSON.parse(text) : text };
}

// a page that records console errors, uncaught exceptions and CSP
// violations; network errors the test provokes on purpose are listed in
// expectNetwork and checked off as they come
async function watchedPage() {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    const problems = [];
    page.expectNetwork = [];
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const t = m.text();
        const i = page.expectNetwork.findIndex((s) => t.includes(`status of ${s}`));
        if (i !== -1 && t.startsWith('Failed to load resource')) {
            page.expectNetwork.splice(i, 1);
            return;
        }
        if (page.allowNetwork && t.startsWith('Failed to load resource')
            && t.includes(`status of ${page.allowNetwork}`)) {
            page.allowedSeen = (page.allowedSeen ?? 0) + 1;
            return;
        }
        problems.push(`console: ${t}`);
    });
    page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));

    // offline: nothing but keryud itself (and the page's own blobs)
    page.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith(`${base}/`) && !u.startsWith('blob:') && !u.startsWith('data:')) {
            problems.push(`request to ${u}`);
        }
        if (Object.values(token).some((t) => t && u.includes(t))) problems.push(`token in a URL: ${u}`);
        if (r.headers().cookie) problems.push(`cookie sent to ${u}`);
    });
    await page.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation',
                                  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    page.problems = async () => {
        const csp = await page.evaluate(() => window.__csp).catch(() => []);
        const cookies = await ctx.cookies();
        return problems.concat(csp.map((c) => `csp: ${c}`), cookies.map((c) => `cookie ${c.name}`));
    };
    return page;
}

async function signIn(page, who, role = who) {
    await page.goto(`${base}/dashboard/`);
    await page.fill('#token', token[who]);
    await page.click('form.signin button[type=submit]');
    await page.waitForSelector('[data-testid=role]');
    assert.equal(await page.textContent('[data-testid=role]'), role);
}

// what a view shows, JSON and editors aside, never holds a stray value
async function shot(page, name) {
    const text = await page.evaluate(() => {
        const m = document.getElementById('app').cloneNode(true);
        for (const e of m.querySelectorAll('pre, textarea')) e.remove();
        return m.textContent;
    });
    assert.doesNotMatch(text, /\bnull\b|\bundefined\b|\[object |\bNaN\b/, name);
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
}

async function view(page, name, selector) {
    await page.click(`nav.side a[data-view=${name}]`);
    await page.waitForSelector(`.viewbody[data-view=${name}] ${selector}`);
}

before(async () => {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });

    execFileSync('cc', ['-O2', '-I', 'shared', '-o', join(dir, 'fill'), 't/api/fill.c',
                        'shared/keryu_store.c', 'shared/keryu_record.c', '-llmdb']);

    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'master-key'), `${randomBytes(32).toString('hex')}\n`);
    chmodSync(join(dir, 'master-key'), 0o600);
    writeFileSync(join(dir, 'keryud.conf'), [
        '# dashboard.test.mjs',
        `store ${dir}/store;`, `data ${dir}/data;`, `listen 127.0.0.1:${port};`,
        'poll_interval 10ms;', `pid_file ${dir}/keryud.pid;`, `master_key ${dir}/master-key;`,
        `dashboard_root ${root};`, 'metrics_interval 1s;', '',
    ].join('\n'));

    for (const role of ['admin', 'auditor', 'viewer']) {
        token[role] = execFileSync(keryud, ['-c', join(dir, 'keryud.conf'), 'token', 'create',
                                            '--role', role, '--name', `${role}-1`]).toString().trim();
    }

    daemon = spawn(keryud, ['-d', '-c', join(dir, 'keryud.conf')],
                   { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    daemon.stderr.on('data', (d) => { log += d; });
    daemon.on('exit', (code, signal) => {
        if (code || signal) console.log(`keryud exited ${code ?? signal}: ${log}`);
    });

    await until(async () => (await apiCall('GET', 'status/', 'admin')).status === 200, 'keryud answers');

    // a brute force that opens an alert and a block, logins, refusals
    fill(12, 'type=auth_failure', 'ip=192.0.2.66', 'status=401', 'uri=/login');
    fill(3, 'type=login', 'user=alice', 'ip=198.51.100.4', 'status=200', 'uri=/login');
    fill(2, 'type=permission_denied', 'user=bob', 'ip=198.51.100.9', 'status=403', 'uri=/admin/');
    await until(async () => (await apiCall('GET', 'alerts/', 'admin')).body.items.length === 1, 'alert opened');

    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});

after(async () => {
    if (browser) await browser.close();
    if (daemon) {
        daemon.kill('SIGTERM');
        await until(async () => daemon.exitCode !== null || daemon.signalCode !== null, 'keryud exits');
        assert.equal(daemon.exitCode, 0, 'keryud exits cleanly (and, under ASan, without a leak)');
    }
    rmSync(dir, { recursive: true, force: true });
});

test('keryud serves the dashboard with a strict policy and no way out of its directory', async () => {
    const r = await fetch(`${base}/dashboard/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await r.text(), /<script src="app.js" defer><\/script>/);

    const js = await fetch(`${base}/dashboard/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const css = await fetch(`${base}/dashboard/app.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');

    const bare = await fetch(`${base}/dashboard`, { redirect: 'manual' });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/dashboard/');

    // fetch() normalises "..", so raw paths go through a socket
    for (const p of ['/dashboard/../keryud.conf', '/dashboard/%2e%2e/x.html', '/dashboard/.hidden.js',
                     '/dashboard//etc/passwd', '/dashboard/app.js/']) {
        const status = await rawStatus(p);
        assert.equal(status, 404, p);
    }
    assert.equal((await fetch(`${base}/dashboard/`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/dashboard/nothing.js`)).status, 404);
});

async function rawStatus(path) {
    const { connect } = await import('node:net');
    return new Promise((res, rej) => {
        const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.0\r\n\r\n`));
        let data = '';
        s.on('data', (d) => { data += d; });
        s.on('end', () => res(Number(data.split(' ')[1])));
        s.on('error', rej);
    });
}

test('the validate endpoint answers the compiler error with its place', async () => {
    let r = await apiCall('POST', 'policies/validate/', 'admin', '{"name": "x",\n  "policy_type": }');
    assert.equal(r.status, 200);
    assert.equal(r.body.valid, false);
    assert.match(r.body.error, /^invalid JSON/);
    assert.deepEqual([r.body.line, r.body.column], [2, 18]);

    r = await apiCall('POST', 'policies/validate/', 'admin',
                      '{"name":"x","policy_type":"access","rules":[{"id":"a","path":"/","effect":"allow","anyone":true},\n{"path":"/b","effect":"deny"}]}');
    assert.equal(r.body.valid, false);
    assert.match(r.body.error, /rule 2: "id" is required/);
    assert.equal(r.body.line, 2);
    assert.equal(r.body.column, 1);

    const bogus = '{"name":"x","policy_type":"access","rules":[{"id":"a","path":"/","effect":"allow","bogus":1}]}';
    r = await apiCall('POST', 'policies/validate/', 'admin', bogus);
    assert.match(r.body.error, /unknown field "bogus"/);
    assert.equal(r.body.offset, bogus.indexOf('"bogus"'));

    r = await apiCall('POST', 'policies/validate/', 'admin',
                      '{"name":"ok","policy_type":"access","rules":[{"id":"a","path":"/","effect":"allow","anyone":true}]}');
    assert.deepEqual(r.body, { valid: true, name: 'ok' });
    assert.equal((await apiCall('GET', 'policies/', 'admin')).body.items.some((p) => p.name === 'ok'), false,
                 'validation stores nothing');
    assert.equal((await apiCall('POST', 'policies/validate/', 'auditor', '{}')).status, 403);
    assert.deepEqual((await apiCall('GET', 'whoami/', 'viewer')).body, { name: 'viewer-1', role: 'viewer' });
});

test('an admin signs in, sees every view, filters, acknowledges, saves policies', async () => {
    const page = await watchedPage();

    // a wrong token is refused, and nothing is kept
    await page.goto(`${base}/dashboard/`);
    await shot(page, '00-sign-in');
    page.expectNetwork.push(401);
    await page.fill('#token', 'kry_wrong');
    await page.click('form.signin button[type=submit]');
    await until(async () => (await page.textContent('[data-testid=signin-error]')).includes('not valid'), 'refusal shown');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);

    await signIn(page, 'admin');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('keryu.token')), token.admin);
    assert.equal(await page.evaluate(() => document.cookie), '');
    assert.ok(!page.url().includes(token.admin));

    // a reload keeps the tab signed in, on the view it was on
    await page.goto(`${base}/dashboard/#/status`);
    await page.reload();
    await page.waitForSelector('.viewbody[data-view=status] [data-testid=st-keryud]');
    assert.equal(await page.textContent('[data-testid=role]'), 'admin');
    await page.click('nav.side a[data-view=overview]');

    // overview
    await page.waitForSelector('[data-testid=ov-compliance] ul.list li');
    await page.waitForSelector('[data-testid=ov-events] tbody tr[data-id]');
    assert.match(await page.textContent('[data-testid=level]'), /1 open alert/);
    await shot(page, '01-overview');

    // events: a filter, then the live tail
    await view(page, 'events', '[data-testid=events-table] tbody tr[data-id]');
    const all = await page.locator('[data-testid=events-table] tbody tr[data-id] td:nth-child(2)').allTextContents();
    assert.equal(all.filter((t) => t === 'auth_failure').length, 12);
    assert.ok(all.includes('permission_denied') && all.includes('login'));
    await page.selectOption('select[name=event_type]', 'login');
    await page.click('form.filters button[type=submit]');
    await until(async () => (await page.locator('[data-testid=events-table] tbody tr[data-id]').count()) === 3, 'filtered');
    const types = await page.locator('[data-testid=events-table] tbody tr[data-id] td:nth-child(2)').allTextContents();
    assert.deepEqual(types, ['login', 'login', 'login']);
    await page.check('[data-testid=tail]');
    fill(2, 'type=login', 'user=carol', 'ip=198.51.100.7', 'status=200', 'uri=/login');
    await until(async () => (await page.locator('[data-testid=events-table] tbody tr[data-id]').count()) === 5, 'tail shows new');
    assert.match(await page.textContent('[data-testid=events-table] tbody tr:first-child'), /carol/);
    await page.click('[data-testid=events-table] tbody tr:first-child');
    await page.waitForSelector('[data-testid=event-detail] dl.kv');
    await shot(page, '02-events');
    await page.uncheck('[data-testid=tail]');

    // alerts: acknowledge with a note
    await view(page, 'alerts', '[data-testid=alerts-table] tbody tr[data-id]');
    await page.click('[data-testid=alerts-table] tbody tr[data-id="1"]');
    await page.click('[data-testid=alert-detail] button:text("Acknowledge")');
    await page.waitForSelector('[data-testid=alert-log] li:has-text("acknowledged")');
    await page.fill('[data-testid=alert-detail] textarea', 'looking into it');
    await page.click('[data-testid=alert-detail] form.note button');
    await page.waitForSelector('[data-testid=alert-log] .note:text("looking into it")');
    const al = (await apiCall('GET', 'alerts/1/', 'admin')).body;
    assert.equal(al.status, 'acknowledged');
    assert.equal(al.responses.at(-1).note, 'looking into it');
    assert.equal(al.responses.at(-1).actor, 'admin-1');
    await shot(page, '03-alerts');

    // blocks
    await view(page, 'blocks', '[data-testid=blocks-table] td:text("192.0.2.66/32")');
    await page.fill('input[name=value]', '203.0.113.9');
    await page.fill('input[name=duration]', '1h');
    await page.click('.viewbody form.filters button[type=submit]');
    await page.waitForSelector('[data-testid=blocks-table] td:text("203.0.113.9/32")');
    await shot(page, '04-blocks');

    // system status and charts
    await view(page, 'status', '[data-testid=st-keryud] dl.kv');
    await shot(page, '05-status');
    await view(page, 'metrics', '[data-testid=chart]');
    await until(async () => (await page.locator('[data-testid=chart] .uplot').count()) === 7, 'seven charts drawn');
    assert.equal(await page.locator('[data-testid=chart-empty]:visible').count(), 0);
    await page.waitForSelector('[data-testid=chart-source]:has-text("Sampled by keryud every 1 s")');
    await page.waitForSelector('[data-testid=prom] td:text-matches("keryu_events_total")');
    await shot(page, '06-metrics');

    // policies: a bad one is refused at its place, a good one is saved
    await view(page, 'policies', '[data-testid=policies-table] tbody tr');
    await page.click('[data-testid=new-policy]');
    await page.waitForSelector('[data-testid=policy-validation].ok');
    await page.fill('[data-testid=policy-text]', '{\n    "name": "web-admin",\n    "policy_type": "access",\n    "rules": [\n        { "id": "a", "path": "/admin/", "effect": "allow", "roles": ["admin"] ,}\n    ]\n}\n');
    await page.waitForSelector('[data-testid=policy-validation].bad [data-testid=error-place]');
    assert.equal(await page.textContent('[data-testid=error-place]'), 'line 5, column 80');
    assert.equal(await page.textContent('[data-testid=error-mark]'), '}');
    assert.equal(await page.locator('.gutter .errline').textContent(), '5');
    assert.ok(await page.isDisabled('[data-testid=policy-save]'));
    await shot(page, '07-policy-bad-json');

    await page.fill('[data-testid=policy-text]', '{\n    "name": "web-admin",\n    "description": "Zürich → 東京",\n    "policy_type": "access",\n    "rules": [\n        { "id": "a", "path": "/admin/", "effect": "allow", "roles": ["admin"], "colour": "red" }\n    ]\n}\n');
    await page.waitForSelector('[data-testid=error-text]:text-matches("unknown field")');
    assert.equal(await page.textContent('[data-testid=error-place]'), 'line 6, column 80');
    assert.equal(await page.textContent('[data-testid=error-mark]'), '"', 'marked after non-ASCII text too');
    await page.click('[data-testid=error-place]');
    assert.equal(await page.evaluate(() => {
        const a = document.querySelector('[data-testid=policy-text]');
        return a.value.slice(a.selectionStart, a.selectionStart + 8);
    }), '"colour"', 'the place link selects it');
    assert.ok(await page.isDisabled('[data-testid=policy-save]'));
    assert.equal((await apiCall('POST', 'policies/', 'admin', await page.inputValue('[data-testid=policy-text]'))).status, 400,
                 'keryud refuses it too');
    await shot(page, '08-policy-bad-field');

    await page.fill('[data-testid=policy-text]', '{\n    "name": "web-admin",\n    "policy_type": "access",\n    "rules": [\n        { "id": "a", "path": "/admin/", "effect": "allow", "roles": ["admin"] }\n    ]\n}\n');
    await page.waitForSelector('[data-testid=policy-validation].ok');
    await until(async () => !(await page.isDisabled('[data-testid=policy-save]')), 'save enabled');
    await page.click('[data-testid=policy-save]');
    await page.waitForSelector('[data-testid=policies-table] a:text("web-admin")');
    const stored = (await apiCall('GET', 'policies/', 'admin')).body.items.find((p) => p.name === 'web-admin');
    assert.deepEqual(stored.rules, [{ id: 'a', path: '/admin/', effect: 'allow', roles: ['admin'] }]);

    // shadow mode on, through the list's toggle
    await page.check('input[data-shadow="web-admin"]');
    await until(async () => (await apiCall('GET', 'policies/', 'admin')).body.items
        .find((p) => p.name === 'web-admin').shadow === true, 'shadow on');
    await page.waitForSelector('input[data-active="web-admin"]:checked');
    await page.uncheck('input[data-active="web-admin"]');
    await until(async () => (await apiCall('GET', 'policies/', 'admin')).body.items
        .find((p) => p.name === 'web-admin').is_active === false, 'inactive');
    assert.ok(await page.isChecked('input[data-shadow="web-admin"]'), 'shadow kept');
    await shot(page, '09-policies');

    // keys: validate
    await view(page, 'keys', '[data-testid=keys-table] tbody tr');
    await page.click('button:text("Validate all keys")');
    await page.waitForSelector('[data-testid=keys-result] .l-ok');
    await shot(page, '10-keys');

    // a token made, shown once, working, then revoked
    await view(page, 'tokens', '[data-testid=tokens-table] tbody tr');
    await page.selectOption('[data-testid=token-form] select[name=role]', 'viewer');
    await page.fill('[data-testid=token-form] input[name=name]', 'wallboard');
    await page.fill('[data-testid=token-form] input[name=expires]', '30d');
    await page.click('[data-testid=token-form] button[type=submit]');
    const made = await (await page.waitForSelector('[data-testid=token-value]')).inputValue();
    assert.match(made, /^kry_[A-Za-z0-9_-]{43}$/);
    await page.waitForSelector('[data-testid=tokens-table] td:has-text("wallboard")');
    token.wall = made;
    assert.deepEqual((await apiCall('GET', 'whoami/', 'wall')).body, { name: 'wallboard', role: 'viewer' });
    await shot(page, '11-tokens');
    page.once('dialog', (d) => d.accept());
    await page.click('button[data-revoke="wallboard"]');
    await until(async () => (await page.locator('[data-testid=tokens-table] td:has-text("wallboard")').count()) === 0,
                'token gone');
    assert.equal((await apiCall('GET', 'whoami/', 'wall')).status, 401);

    // an API key made, shown once, listed without its value, then revoked
    await page.fill('[data-testid=apikey-form] input[name=name]', 'deploy-bot');
    await page.fill('[data-testid=apikey-form] input[name=roles]', 'deploy, reader');
    await page.fill('[data-testid=apikey-form] input[name=ttl]', '30d');
    await page.click('[data-testid=apikey-form] button[type=submit]');
    const key = await (await page.waitForSelector('[data-testid=apikey-value]')).inputValue();
    assert.match(key, /^kak_[A-Za-z0-9_-]{43}$/);
    await page.waitForSelector('[data-testid=apikeys-table] td:text("deploy-bot")');
    assert.ok(!(await page.textContent('[data-testid=apikeys-table]')).includes(key), 'no key in the list');
    let keys = (await apiCall('GET', 'apikeys/', 'admin')).body.items;
    assert.deepEqual(keys.map((k) => [k.name, k.roles]), [['deploy-bot', ['deploy', 'reader']]]);
    assert.ok(keys[0].expires_at, 'it expires');
    await shot(page, '11-apikeys');
    await page.click('[data-testid=apikey-made] button:text("Done")');
    assert.equal(await page.locator('[data-testid=apikey-value]').count(), 0, 'shown once');

    // keryud refuses a bad one, and the page says which field
    await page.fill('[data-testid=apikey-form] input[name=name]', 'deploy-bot2');
    await page.fill('[data-testid=apikey-form] input[name=roles]', 'a, a');
    page.expectNetwork.push(400);
    await page.click('[data-testid=apikey-form] button[type=submit]');
    await page.waitForSelector('.toast:has-text("invalid field (roles)")');
    assert.equal((await apiCall('GET', 'apikeys/', 'admin')).body.items.length, 1);

    page.once('dialog', (d) => d.accept());
    await page.click('button[data-revoke-apikey="deploy-bot"]');
    await page.waitForSelector('[data-testid=apikeys-table] td:text("No API keys")');
    assert.deepEqual((await apiCall('GET', 'apikeys/', 'admin')).body.items, []);

    await view(page, 'settings', 'form.settings');
    await shot(page, '12-settings');

    // compliance
    await view(page, 'compliance', '[data-testid=controls-table] tbody tr');
    await page.click('[data-testid=std-pci_dss_4] button');
    await page.waitForSelector('h2:text("Controls for PCI DSS v4.0")');
    await shot(page, '13-compliance');

    await view(page, 'reports', '[data-testid=report-form]');
    await page.selectOption('[data-testid=report-form] select[name=format]', 'csv');
    await page.click('[data-testid=report-form] button[type=submit]');
    await page.waitForSelector('[data-testid=reports-table] tbody tr:has-text("compliance")');
    const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('[data-testid=reports-table] button:text("Download")'),
    ]);
    assert.equal(download.suggestedFilename(), 'keryu-compliance-1.csv');
    assert.match(readFileSync(await download.path(), 'utf8'), /evidence-published/);
    await shot(page, '14-reports');

    await view(page, 'audits', '[data-testid=audit-form]');
    await page.fill('[data-testid=audit-form] input[name=name]', 'quarterly');
    await page.click('[data-testid=audit-form] button[type=submit]');
    await page.waitForSelector('[data-testid=findings-table] tbody tr');
    await shot(page, '15-audits');

    await view(page, 'risk', '[data-testid=risk-table] tbody tr');
    await shot(page, '16-risk');

    assert.deepEqual(await page.problems(), []);
    assert.deepEqual(page.expectNetwork, []);
    await page.context().close();
});

test('a viewer is offered only what a viewer may do', async () => {
    const page = await watchedPage();
    await signIn(page, 'viewer');
    await page.waitForSelector('[data-testid=ov-compliance]:has-text("Not available")');
    const nav = await page.locator('nav.side a').evaluateAll((as) => as.map((a) => a.dataset.view));
    assert.deepEqual(nav, ['overview', 'events', 'alerts', 'status', 'metrics', 'tokens', 'settings']);
    await view(page, 'tokens', '[data-testid=whoami]');
    assert.equal(await page.locator('[data-testid=tokens-table]').count(), 0);
    assert.equal(await page.locator('[data-testid=apikeys-table]').count(), 0);
    await page.waitForSelector('[data-testid=key-counts]');
    await view(page, 'alerts', '[data-testid=alerts-table] tbody tr[data-id]');
    await page.click('[data-testid=alerts-table] tbody tr[data-id="1"]');
    await page.waitForSelector('[data-testid=alert-log]');
    assert.equal(await page.locator('[data-testid=alert-detail] button').count(), 0);
    assert.equal(await page.locator('[data-testid=alert-detail] textarea').count(), 0);

    // a new alert shows in the list without a reload
    fill(10, 'type=auth_failure', 'ip=192.0.2.77', 'status=401', 'uri=/login');
    await page.waitForSelector('[data-testid=alerts-table] tbody tr:has-text("192.0.2.77")');
    await view(page, 'events', '[data-testid=events-table]');
    assert.equal(await page.locator('input[name=all]').count(), 0);
    await view(page, 'metrics', '[data-testid=chart]');
    assert.equal(await page.locator('[data-testid=chart]').count(), 4, 'no API charts');
    await page.waitForSelector('[data-testid=chart-source]:has-text("since you signed in")');
    assert.equal(await page.locator('[data-testid=prom]').count(), 0, 'no Prometheus counters');
    await shot(page, '17-viewer');
    assert.deepEqual(await page.problems(), []);
    await page.context().close();
});

test('an auditor reads policies but may not edit them', async () => {
    const page = await watchedPage();
    await signIn(page, 'auditor');
    await view(page, 'policies', '[data-testid=policies-table] tbody tr');
    assert.equal(await page.locator('[data-testid=new-policy]').count(), 0);
    assert.equal(await page.locator('input[data-shadow]').count(), 0);
    assert.ok(await page.getAttribute('[data-testid=policy-text]', 'readonly') !== null);
    await view(page, 'tokens', '[data-testid=tokens-table] tbody tr');
    assert.equal(await page.locator('[data-testid=token-form]').count(), 0);
    assert.equal(await page.locator('button[data-revoke]').count(), 0);
    await page.waitForSelector('[data-testid=apikeys-table]');
    assert.equal(await page.locator('[data-testid=apikey-form]').count(), 0);
    assert.equal(await page.locator('button[data-revoke-apikey]').count(), 0);
    await view(page, 'audits', '[data-testid=audit-form]');
    await shot(page, '18-auditor');
    assert.deepEqual(await page.problems(), []);
    await page.context().close();
});

test('performance charts: keryud\'s history at once, and "collecting samples" rather than empty axes', async () => {
    // the page itself samples once at sign-in, then not for a minute
    const slow = async (who) => {
        const page = await watchedPage();
        await page.addInitScript(() => localStorage.setItem('keryu.settings', '{"statusInterval":60}'));
        await signIn(page, who);
        return page;
    };

    // an admin's charts come from keryud's history, there before the page
    await until(async () => (await apiCall('GET', 'metrics/history/', 'admin')).body.time.length >= 3, 'history');
    let page = await slow('admin');
    await view(page, 'metrics', '[data-testid=chart] .uplot');
    assert.equal(await page.locator('[data-testid=chart] .uplot').count(), 7);
    assert.equal(await page.locator('[data-testid=chart-empty]:visible').count(), 0, 'no placeholder');
    const pts = await page.locator('[data-testid=chart] .plot').evaluateAll((ps) => ps.map((p) => Number(p.dataset.points)));
    assert.equal(pts.length, 7);
    assert.ok(pts.every((n) => n >= 2), `every chart has points: ${pts}`);
    // the x axis is today's time of day, not a year
    const ticks = await page.locator('[data-testid=chart] .u-axis').first().textContent();
    assert.doesNotMatch(ticks, /19[0-9]{2}|20[0-9]{2}/, ticks);
    await shot(page, '19-metrics-history');
    assert.deepEqual(await page.problems(), []);
    await page.context().close();

    // a viewer's come from the page, which has one sample so far
    page = await slow('viewer');
    await view(page, 'metrics', '[data-testid=chart-empty]');
    assert.equal(await page.locator('[data-testid=chart-empty]:visible').count(), 4);
    assert.equal(await page.locator('[data-testid=chart] .uplot').count(), 0, 'no empty axes');
    assert.match(await page.textContent('[data-testid=chart-empty]'), /Collecting samples/);
    await shot(page, '20-metrics-collecting');
    assert.deepEqual(await page.problems(), []);
    await page.context().close();
});

test('a token revoked while signed in sends the page back to sign-in', async () => {
    const page = await watchedPage();
    token.short = (await apiCall('POST', 'tokens/', 'admin', { role: 'viewer', name: 'short' })).body.token;
    await signIn(page, 'short', 'viewer');
    await page.waitForSelector('[data-testid=ov-events] tbody tr[data-id]');
    page.allowNetwork = 401;
    assert.equal((await apiCall('DELETE', 'tokens/short/', 'admin')).status, 204);
    await page.waitForSelector('[data-testid=signin-error]:text("Your token was refused; sign in again.")',
                               { timeout: 20000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('keryu.token')), null);
    assert.ok(page.allowedSeen >= 1, 'the refusal was a 401');
    assert.deepEqual(await page.problems(), []);
    await page.context().close();
});
