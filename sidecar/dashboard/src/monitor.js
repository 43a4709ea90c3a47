// Monitoring views: overview, events with a live tail, alerts and their
// response log, blocks, system status and the performance charts.

import { api, can, qs } from './api.js';
import { h, clear, fill, fmtTime, fmtBytes, badge, table, field, select } from './dom.js';
import { settings } from './settings.js';
import { lineChart } from './charts.js';

export const EVENT_TYPES = ['login', 'logout', 'auth_failure', 'permission_denied',
                            'data_access', 'system_change', 'input_rejected'];
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

function card(title, testid, ...body) {
    return h('section.card', { 'data-testid': testid }, h('h2', {}, title), ...body);
}

function wideCard(title, testid, ...body) {
    return h('section.card.wide', { 'data-testid': testid }, h('h2', {}, title), ...body);
}

function stat(label, value, kind) {
    return h(`div.stat${kind ? `.s-${kind}` : ''}`, {},
             h('div.statv', {}, String(value)), h('div.statl', {}, label));
}

function eventRows(items) {
    return table([
        { label: 'Time', render: (e) => fmtTime(e.time), cls: 'nowrap' },
        { label: 'Type', render: (e) => badge(e.event_type, 'ev') },
        { label: 'User', key: 'user' },
        { label: 'Address', key: 'ip', cls: 'mono' },
        { label: 'Request', render: (e) => `${e.method} ${e.uri}`, cls: 'mono clip' },
        { label: 'Status', key: 'status' },
    ], items, { testid: 'events-table', empty: 'No events',
                rowAttrs: (e) => ({ dataset: { id: e.id } }) });
}

// --- overview

export async function overview(el, ctx) {
    const grid = h('div.cards');
    el.appendChild(grid);

    const secCard = card('Security status', 'ov-status', h('p', {}, 'Loading…'));
    const alertCard = card('Active alerts', 'ov-alerts', h('p', {}, 'Loading…'));
    const evCard = wideCard('Recent events', 'ov-events', h('p', {}, 'Loading…'));
    const compCard = card('Compliance', 'ov-compliance', h('p', {}, 'Loading…'));
    grid.append(secCard, alertCard, compCard, evCard);

    async function refresh() {
        const [st, al, ev] = await Promise.all([
            api.get('status/'),
            api.get(`alerts/${qs({ status: 'open', limit: 8 })}`),
            api.get(`events/${qs({ limit: 8 })}`),
        ]);

        const sev = st.alerts.by_severity;
        const level = sev.critical ? 'critical' : sev.high ? 'high'
            : st.alerts.open ? 'medium' : st.enforcement.workers_behind ? 'medium' : 'ok';
        fill(secCard, h('h2', {}, 'Security status'),
            h(`div.level.l-${level}`, { 'data-testid': 'level' },
              level === 'ok' ? 'No open alerts' : `${st.alerts.open} open alert${st.alerts.open === 1 ? '' : 's'}`),
            h('div.stats', {},
              SEVERITIES.map((s) => stat(s, sev[s], sev[s] ? s : null)),
              stat('acknowledged', st.alerts.acknowledged),
              stat('workers', st.enforcement.workers, st.enforcement.workers_behind ? 'high' : null),
              stat('ring lag', st.keryud.lag, st.keryud.lag > 10000 ? 'high' : null)));

        fill(alertCard, h('h2', {}, 'Active alerts'),
            al.items.length ? h('ul.list', {}, al.items.map((a) =>
                h('li', {}, badge(a.severity), ' ',
                  h('a', { href: `#/alerts?id=${a.id}` }, a.rule), ' ',
                  h('span.muted', {}, `${a.key} · ${a.count} · ${fmtTime(a.last_seen)}`))))
                : h('p.muted', {}, 'No open alerts'));

        fill(evCard, h('h2', {}, 'Recent events'), eventRows(ev.items),
                             h('a', { href: '#/events' }, 'All events →'));

        if (!can.readAll()) {
            fill(compCard, h('h2', {}, 'Compliance'),
                                   h('p.muted', {}, 'Not available to the viewer role.'));
            return;
        }

        const c = await api.get('compliance/');
        fill(compCard, h('h2', {}, 'Compliance'),
            h(`div.level.l-${c.summary.status}`, {},
              `${c.summary.status}: ${c.summary.passed} passed, ${c.summary.warned} warned, ${c.summary.failed} failed`),
            h('ul.list', {}, Object.entries(c.standards).map(([k, s]) =>
                h('li', {}, badge(s.status), ' ', h('a', { href: `#/compliance?standard=${k}` }, s.title)))));
    }

    await refresh();
    ctx.every(settings.get('statusInterval') * 1000, () => refresh().catch(ctx.fail));
}

// --- events

export async function events(el, ctx) {
    const form = h('form.filters', { 'data-testid': 'event-filters' },
        field('Type', select('event_type', ['', ...EVENT_TYPES], '')),
        field('User', h('input', { name: 'user', size: 12 })),
        field('Address', h('input', { name: 'ip', size: 14 })),
        field('Status', h('input', { name: 'status', size: 4, inputmode: 'numeric' })),
        field('Since (local time)', h('input', { name: 'since', type: 'datetime-local' })),
        can.readAll() ? field('Plain requests', h('input', { type: 'checkbox', name: 'all' })) : null,
        h('button.primary', { type: 'submit' }, 'Apply'),
        h('label.toggle', {}, h('input', { type: 'checkbox', name: 'tail', 'data-testid': 'tail' }), ' Live tail'));
    const out = h('div.split');
    const list = h('div.listpane');
    const detail = h('aside.detail', { 'data-testid': 'event-detail' }, h('p.muted', {}, 'Select an event'));
    out.append(list, detail);
    el.append(form, out);

    let items = [];
    let cursor = null;
    let tailTimer = null;

    function params() {
        const f = new FormData(form);
        const since = f.get('since');
        return {
            event_type: f.get('event_type'), user: f.get('user').trim(), ip: f.get('ip').trim(),
            status: f.get('status').trim(),
            since: since ? new Date(since).toISOString().replace(/\.\d+Z$/, 'Z') : '',
        };
    }

    const endpoint = () => (form.elements.all && form.elements.all.checked ? 'logs/' : 'events/');

    function render(fresh) {
        clear(list);
        const t = eventRows(items);
        for (const tr of t.querySelectorAll('tbody tr[data-id]')) {
            if (fresh.has(Number(tr.dataset.id))) tr.classList.add('fresh');
            tr.addEventListener('click', () => {
                const e = items.find((x) => String(x.id) === tr.dataset.id);
                fill(detail, h('h2', {}, `Event ${e.id}`),
                    h('dl.kv', {}, Object.entries(e).filter(([k]) => k !== 'details')
                        .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null ? '—' : String(v))])),
                    h('h3', {}, 'Details'), h('pre', {}, JSON.stringify(e.details, null, 2)));
            });
        }
        list.append(h('p.muted', { 'data-testid': 'event-count' }, `${items.length} shown`), t);
        if (cursor) {
            list.append(h('button', { onclick: () => load(true).catch(ctx.fail) }, 'Older'));
        }
    }

    async function load(more) {
        const p = { ...params(), limit: settings.get('pageSize'), cursor: more ? cursor : '' };
        const r = await api.get(endpoint() + qs(p));
        items = more ? items.concat(r.items) : r.items;
        cursor = r.next_cursor;
        render(new Set());
    }

    async function tail() {
        const r = await api.get(endpoint() + qs({ ...params(), limit: settings.get('pageSize') }));
        const top = items.length ? items[0].id : 0;
        const fresh = r.items.filter((e) => e.id > top);
        if (!fresh.length) return;
        items = fresh.concat(items);
        render(new Set(fresh.map((e) => e.id)));
    }

    form.addEventListener('submit', (e) => { e.preventDefault(); load(false).catch(ctx.fail); });
    form.elements.tail.addEventListener('change', () => {
        clearInterval(tailTimer);
        tailTimer = null;
        if (form.elements.tail.checked) {
            tailTimer = setInterval(() => tail().catch(ctx.fail), settings.get('tailInterval') * 1000);
        }
    });
    ctx.onLeave(() => clearInterval(tailTimer));

    await load(false);
}

// --- alerts

export async function alerts(el, ctx) {
    const form = h('form.filters', {},
        field('Status', select('status', ['', 'open', 'acknowledged', 'resolved'], '')),
        field('Severity', select('severity', ['', ...SEVERITIES], '')),
        field('Rule', h('input', { name: 'rule', size: 20 })),
        field('Key', h('input', { name: 'key', size: 14 })),
        h('button.primary', { type: 'submit' }, 'Apply'));
    const list = h('div.listpane');
    const detail = h('aside.detail', { 'data-testid': 'alert-detail' }, h('p.muted', {}, 'Select an alert'));
    el.append(form, h('div.split', {}, list, detail));

    let items = [];

    async function load() {
        const f = new FormData(form);
        const r = await api.get(`alerts/${qs({ status: f.get('status'), severity: f.get('severity'),
                                              rule: f.get('rule').trim(), key: f.get('key').trim(), limit: 200 })}`);
        items = r.items;
        fill(list, table([
            { label: 'Id', key: 'id' },
            { label: 'Severity', render: (a) => badge(a.severity) },
            { label: 'Status', render: (a) => badge(a.status) },
            { label: 'Rule', key: 'rule', cls: 'mono' },
            { label: 'Key', key: 'key', cls: 'mono' },
            { label: 'Count', key: 'count' },
            { label: 'Last seen', render: (a) => fmtTime(a.last_seen), cls: 'nowrap' },
        ], items, { testid: 'alerts-table', empty: 'No alerts',
                    rowAttrs: (a) => ({ dataset: { id: a.id }, onclick: () => show(a.id) }) }));
    }

    async function show(id) {
        const a = await api.get(`alerts/${id}/`);
        const note = h('textarea', { name: 'note', rows: 2, maxlength: 1024, placeholder: 'Add a note' });
        const act = async (body) => {
            try {
                await api.put(`alerts/${id}/`, body);
                ctx.toast(body.status ? `Alert ${id} ${body.status}` : `Note added to alert ${id}`);
                await load();
                await show(id);
            } catch (e) {
                ctx.fail(e);
            }
        };
        fill(detail, 
            h('h2', {}, `Alert ${a.id}: ${a.rule}`),
            h('p', {}, badge(a.severity), ' ', badge(a.status, a.status), ' ', a.summary),
            h('dl.kv', {},
              h('dt', {}, 'Key'), h('dd.mono', {}, `${a.key} (${a.key_type})`),
              h('dt', {}, 'Count'), h('dd', {}, a.count),
              h('dt', {}, 'First seen'), h('dd', {}, fmtTime(a.first_seen)),
              h('dt', {}, 'Last seen'), h('dd', {}, fmtTime(a.last_seen)),
              h('dt', {}, 'Block'), h('dd', {}, a.block ? `${a.block.target} until ${fmtTime(a.block.expires_at)}` : 'none')),
            can.admin() ? h('div.actions', {},
                a.status !== 'acknowledged' && a.status !== 'resolved'
                    ? h('button.primary', { onclick: () => act({ status: 'acknowledged' }) }, 'Acknowledge') : null,
                a.status !== 'resolved' ? h('button', { onclick: () => act({ status: 'resolved' }) }, 'Resolve') : null,
                a.status === 'resolved' ? h('button', { onclick: () => act({ status: 'open' }) }, 'Reopen') : null) : null,
            can.admin() ? h('form.note', { onsubmit: (e) => { e.preventDefault(); if (note.value.trim()) act({ note: note.value.trim() }); } },
                            note, h('button', { type: 'submit' }, 'Add note')) : null,
            h('h3', {}, 'Response log'),
            h('ol.log', { 'data-testid': 'alert-log' }, a.responses.map((r) =>
                h('li', {}, h('span.muted', {}, fmtTime(r.at)), ' ', h('b', {}, r.actor), ' ',
                  r.action, r.to ? ` → ${r.to}` : '', r.note ? h('div.note', {}, r.note) : null))));
    }

    form.addEventListener('submit', (e) => { e.preventDefault(); load().catch(ctx.fail); });
    await load();

    const m = location.hash.match(/[?&]id=(\d+)/);
    if (m) await show(m[1]);

    // the list follows new alerts; the open detail is left as it is
    ctx.every(settings.get('statusInterval') * 1000, () => load().catch(ctx.fail));
}

// --- blocks

export async function blocks(el, ctx) {
    const list = h('div');
    el.appendChild(list);

    const form = h('form.filters', {
        onsubmit: async (e) => {
            e.preventDefault();
            const f = new FormData(form);
            const body = { [f.get('type')]: f.get('value').trim() };
            if (f.get('duration').trim()) body.duration = f.get('duration').trim();
            if (f.get('reason').trim()) body.reason = f.get('reason').trim();
            try {
                await api.post('decisions/', body);
                ctx.toast(`Blocked ${body[f.get('type')]}`);
                form.reset();
                await load();
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    },
    field('Type', select('type', [['ip', 'address'], ['user', 'user']], 'ip')),
    field('Address or user', h('input', { name: 'value', required: true, size: 18 })),
    field('Duration', h('input', { name: 'duration', placeholder: '15m, 1h, 7d; empty: for ever', size: 14 })),
    field('Reason', h('input', { name: 'reason', size: 20 })),
    h('button.primary', { type: 'submit' }, 'Block'));

    if (can.admin()) el.prepend(form);

    async function load() {
        const r = await api.get('decisions/');
        fill(list, table([
            { label: 'Type', key: 'type' },
            { label: 'Target', key: 'value', cls: 'mono' },
            { label: 'Reason', key: 'reason' },
            { label: 'Created', render: (d) => fmtTime(d.created), cls: 'nowrap' },
            { label: 'Expires', render: (d) => (d.expires ? fmtTime(d.expires) : 'never'), cls: 'nowrap' },
            { label: '', render: (d) => (can.admin() ? h('button.small', {
                onclick: async () => {
                    try {
                        await api.del(`decisions/${qs({ [d.type]: d.value })}`);
                        ctx.toast(`Unblocked ${d.value}`);
                        await load();
                    } catch (e) {
                        ctx.fail(e);
                    }
                },
            }, 'Unblock') : '') },
        ], r.items, { testid: 'blocks-table', empty: 'No blocks' }));
    }

    await load();
    ctx.every(settings.get('statusInterval') * 1000, () => load().catch(ctx.fail));
}

// --- system status

export async function status(el, ctx) {
    async function load() {
        const s = await api.get('status/');
        const kv = (o) => h('dl.kv', {}, Object.entries(o).filter(([, v]) => typeof v !== 'object' || v === null)
            .map(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')),
                              h('dd', {}, /bytes/.test(k) ? fmtBytes(v) : /time|_at$/.test(k) ? fmtTime(v) : v === null ? '—' : String(v))]));
        fill(el, h('div.cards', {},
            card('keryud', 'st-keryud', kv(s.keryud)),
            card('Shared store', 'st-store', kv(s.store)),
            card('Module (nginx)', 'st-module', kv(s.module),
                 table([{ label: 'Worker pid', key: 'pid' }, { label: 'Policy version', key: 'config_version' },
                        { label: 'Block version', key: 'block_version' },
                        { label: 'Reported', render: (w) => fmtTime(w.reported_at) }],
                       s.module.workers, { empty: 'No nginx worker reports' })),
            card('Keys', 'st-keys', kv(s.keys)),
            card('Enforcement', 'st-enf', kv(s.enforcement)),
            card('Alerts', 'st-alerts', kv(s.alerts), kv(s.alerts.by_severity))));
    }

    await load();
    ctx.every(settings.get('statusInterval') * 1000, () => load().catch(ctx.fail));
}

// --- performance charts: keryud's own history for the roles that may
// read it, loaded on open and followed as it grows; otherwise the status
// samples this page took since sign-in

const HISTORY_COLUMNS = ['time', 'records_per_s', 'ring_lag', 'consumer_lag', 'alerts_open',
                         'store_bytes', 'api_requests_per_s', 'api_response_ms', 'blocks'];

async function serverHistory() {
    try {
        return await api.get('metrics/history/');
    } catch (e) {
        if (e.status === 503) return null;      // metrics_interval off
        throw e;
    }
}

function pageCharts(hist) {
    const rate = () => hist.consumed.map((v, i) => (i === 0 ? null
        : Math.max(0, (v - hist.consumed[i - 1]) / Math.max(1e-3, hist.t[i] - hist.t[i - 1]))));
    return {
        x: () => hist.t,
        specs: [
            { title: 'Records consumed per second', series: [['records/s', rate]] },
            { title: 'Ring lag (records)', series: [['keryud', () => hist.lag], ['consumer', () => hist.storeLag]] },
            { title: 'Open alerts', series: [['open', () => hist.open]] },
            { title: 'Shared store in use', series: [['bytes', () => hist.storeBytes]], bytes: true },
        ],
    };
}

function serverCharts(cols) {
    const c = (k) => () => cols[k];
    return {
        x: c('time'),
        specs: [
            { title: 'Records consumed per second', series: [['records/s', c('records_per_s')]] },
            { title: 'API requests per second', series: [['requests/s', c('api_requests_per_s')]] },
            { title: 'API mean response time (ms)', series: [['ms', c('api_response_ms')]] },
            { title: 'Ring lag (records)', series: [['keryud', c('ring_lag')], ['consumer', c('consumer_lag')]] },
            { title: 'Open alerts', series: [['open', c('alerts_open')]] },
            { title: 'Shared store in use', series: [['bytes', c('store_bytes')]], bytes: true },
            { title: 'Blocks', series: [['blocks', c('blocks')]] },
        ],
    };
}

export async function metrics(el, ctx) {
    const hist = ctx.history;
    const cols = can.readAll() ? await serverHistory() : null;
    const note = h('p.muted', { 'data-testid': 'chart-source' });
    const grid = h('div.charts');
    el.append(note, grid);

    const { x, specs } = cols ? serverCharts(cols) : pageCharts(hist);
    const charts = specs.map((s) => {
        const box = h('section.card.chart', { 'data-testid': 'chart' }, h('h2', {}, s.title));
        grid.appendChild(box);
        return { s, c: lineChart(box, s.series.map(([n]) => n), s.bytes) };
    });

    function draw() {
        for (const { s, c } of charts) c.set([x().slice(), ...s.series.map(([, f]) => f().slice())]);
    }

    if (cols) {
        fill(note, `Sampled by keryud every ${cols.interval} s, the last ${Math.round(cols.capacity * cols.interval / 3600)} hours at most.`);
        const poll = async () => {
            const last = cols.time.at(-1);
            const more = await api.get(`metrics/history/${qs({ since: last === undefined ? 0 : last + 1 })}`);
            for (const k of HISTORY_COLUMNS) {
                cols[k].push(...more[k]);
                if (cols[k].length > cols.capacity) cols[k].splice(0, cols[k].length - cols.capacity);
            }
            if (more.time.length) draw();
        };
        draw();
        ctx.every(settings.get('statusInterval') * 1000, () => poll().catch(ctx.fail));
        ctx.onLeave(() => { for (const { c } of charts) c.destroy(); });
    } else {
        fill(note, `Sampled from /api/security/status/ every ${settings.get('statusInterval')} s since you signed in (up to one hour).`);
        draw();
        hist.listeners.add(draw);
        ctx.onLeave(() => { hist.listeners.delete(draw); for (const { c } of charts) c.destroy(); });
    }

    if (can.readAll()) {
        const r = await api.raw('metrics');
        const text = await r.text();
        const wanted = /^keryu_(api_requests_total|events_total|requests_total|alerts_raised_total|detection_hits_total|blocks|webhook_deliveries_total)\b/;
        const lines = text.split('\n').filter((l) => wanted.test(l));
        el.append(h('section.card', { 'data-testid': 'prom' }, h('h2', {}, 'Counters (Prometheus metrics)'),
            table([{ label: 'Series', key: 'k', cls: 'mono' }, { label: 'Value', key: 'v' }],
                  lines.map((l) => { const i = l.lastIndexOf(' '); return { k: l.slice(0, i), v: l.slice(i + 1) }; }))));
    }
}
