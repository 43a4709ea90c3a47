// Compliance views: status per standard and control, reports, audits
// and their findings, the risk register.

import { api, can } from './api.js';
import { h, fill, fmtTime, badge, table, field, select, saveBlob } from './dom.js';

// --- compliance

export async function compliance(el, ctx) {
    const m = location.hash.match(/[?&]standard=([a-z0-9_]+)/);
    let standard = m ? m[1] : '';
    const head = h('div');
    const body = h('div');
    el.append(head, body);

    async function load() {
        const c = await api.get('compliance/');
        fill(head, 
            h('div.cards', {}, Object.entries(c.standards).map(([k, s]) =>
                h(`section.card.std${k === standard ? '.selected' : ''}`, { 'data-testid': `std-${k}` },
                  h('h2', {}, s.title), badge(s.status),
                  h('p', {}, `${s.passed} passed · ${s.warned} warned · ${s.failed} failed`),
                  h('button.link', { onclick: () => { standard = standard === k ? '' : k; load().catch(ctx.fail); } },
                    standard === k ? 'Show all controls' : 'Controls of this standard')))),
            h('p.muted', {}, `Evaluated ${fmtTime(c.evaluated_at)}; catalogue version ${c.catalogue.version}, ${c.catalogue.controls} controls. `,
              c.evidence.effective_config ? `nginx ${c.evidence.nginx_version}, configuration published ${fmtTime(c.evidence.published_at)}.`
                  : `No nginx evidence: ${c.evidence.error || 'none published'}.`),
            can.admin() ? h('button', { onclick: async () => {
                try {
                    await api.post('compliance/run', {});
                    ctx.toast('Compliance checks ran');
                    await load();
                } catch (e) {
                    ctx.fail(e);
                }
            } }, 'Run checks now') : null);

        const controls = standard ? c.controls.filter((x) => x.mappings && x.mappings[standard]) : c.controls;
        fill(body, h('h2', {}, standard ? `Controls for ${c.standards[standard].title}` : 'All controls'),
            table([
                { label: 'Status', render: (x) => badge(x.status) },
                { label: 'Control', render: (x) => h('div', {}, h('b', {}, x.title), h('div.muted.mono', {}, x.id)) },
                { label: 'Severity', render: (x) => badge(x.severity) },
                { label: standard ? 'Clauses' : 'Standards', render: (x) => (standard
                    ? (x.mappings[standard] || []).join(', ') : Object.keys(x.mappings || {}).join(', ')) },
                { label: 'Remediation', key: 'remediation', cls: 'wrap' },
            ], controls, { testid: 'controls-table' }));
    }

    await load();
}

// --- reports

const isoDay = (d) => d.toISOString().slice(0, 10);

export async function reports(el, ctx) {
    const now = new Date();
    const form = h('form.filters', {
        'data-testid': 'report-form',
        onsubmit: async (e) => {
            e.preventDefault();
            const f = new FormData(form);
            const since = new Date(`${f.get('since')}T00:00:00Z`);
            const until = f.get('until') === isoDay(new Date()) ? new Date() : new Date(`${f.get('until')}T23:59:59Z`);
            try {
                const r = await api.post('reports/', {
                    report_type: f.get('report_type'), format: f.get('format'),
                    since: since.toISOString(), until: until.toISOString(),
                });
                ctx.toast(`Report ${r.id} generated (${r.bytes} bytes)`);
                await load();
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    },
    field('Type', select('report_type', ['compliance', 'audit', 'metrics', 'risk'], 'compliance')),
    field('Format', select('format', ['json', 'csv', 'html'], 'json')),
    field('From', h('input', { type: 'date', name: 'since', value: isoDay(new Date(now - 30 * 86400000)), required: true })),
    field('To', h('input', { type: 'date', name: 'until', value: isoDay(now), required: true })),
    h('button.primary', { type: 'submit' }, 'Generate'));
    const list = h('div');
    if (can.audit()) el.append(form);
    el.append(list);

    async function download(r) {
        try {
            const res = await api.raw(`reports/${r.id}/download`);
            saveBlob(await res.blob(), r.filename);
        } catch (e) {
            ctx.fail(e);
        }
    }

    async function load() {
        const r = await api.get('reports/');
        fill(list, table([
            { label: 'Id', key: 'id' }, { label: 'Type', key: 'report_type' }, { label: 'Format', key: 'format' },
            { label: 'Period', render: (x) => `${fmtTime(x.since)} – ${fmtTime(x.until)}`, cls: 'nowrap' },
            { label: 'Created', render: (x) => `${fmtTime(x.created_at)} by ${x.created_by}` },
            { label: 'Size', key: 'bytes' },
            { label: 'Signature', render: (x) => (x.signature ? `${x.signature.algorithm} ${x.signature.key_id}` : 'unsigned'), cls: 'mono' },
            { label: '', render: (x) => h('button.small', { onclick: () => download(x) }, 'Download') },
        ], r.items, { testid: 'reports-table', empty: 'No reports yet' }));
    }

    await load();
}

// --- audits

export async function audits(el, ctx) {
    const c = await api.get('compliance/');
    const scopes = ['all', ...Object.keys(c.standards)];
    const form = h('form.filters', {
        'data-testid': 'audit-form',
        onsubmit: async (e) => {
            e.preventDefault();
            const f = new FormData(form);
            const body = { name: f.get('name').trim(), scope: f.get('scope'), schedule: f.get('schedule') };
            if (f.get('owner').trim()) body.owner = f.get('owner').trim();
            try {
                const a = await api.post('audits/', body);
                ctx.toast(`Audit ${a.id} scheduled`);
                form.reset();
                await load();
                await show(a.id);
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    },
    field('Name', h('input', { name: 'name', required: true, size: 18 })),
    field('Scope', select('scope', scopes.map((s) => [s, s === 'all' ? 'all standards' : c.standards[s].title]), scopes[1])),
    field('Schedule', select('schedule', ['none', 'daily', 'weekly', 'monthly'], 'weekly')),
    field('Owner', h('input', { name: 'owner', size: 12 })),
    h('button.primary', { type: 'submit' }, 'Schedule'));

    const list = h('div.listpane');
    const detail = h('aside.detail.wide', { 'data-testid': 'audit-detail' }, h('p.muted', {}, 'Select an audit'));
    if (can.audit()) el.append(form);
    el.append(h('div.split', {}, list, detail));

    async function load() {
        const r = await api.get('audits/');
        fill(list, table([
            { label: 'Id', key: 'id' }, { label: 'Name', key: 'name' }, { label: 'Scope', key: 'scope' },
            { label: 'Schedule', key: 'schedule' },
            { label: 'Open', render: (a) => (a.summary ? a.summary.open : '—') },
            { label: 'Next run', render: (a) => fmtTime(a.next_run_at), cls: 'nowrap' },
        ], r.items, { testid: 'audits-table', empty: 'No audits',
                      rowAttrs: (a) => ({ dataset: { id: a.id }, onclick: () => show(a.id).catch(ctx.fail) }) }));
    }

    async function show(id) {
        const a = await api.get(`audits/${id}/`);
        const put = async (body, what) => {
            try {
                await api.put(`audits/${id}/`, body);
                ctx.toast(what);
                await load();
                await show(id);
            } catch (e) {
                ctx.fail(e);
            }
        };
        fill(detail, 
            h('h2', {}, `Audit ${a.id}: ${a.name}`),
            h('p', {}, `Scope ${a.scope}, ${a.schedule}, owner ${a.owner || '—'}; ${a.runs} run(s), last ${fmtTime(a.last_run_at)}, next ${fmtTime(a.next_run_at)}`),
            can.audit() ? h('button', { onclick: () => put({ run: true }, `Audit ${id} ran`) }, 'Run now') : null,
            table([
                { label: 'Id', key: 'id' },
                { label: 'Result', render: (f) => badge(f.result) },
                { label: 'Control', render: (f) => h('div', {}, h('b', {}, f.title), h('div.muted.mono', {}, f.control)) },
                { label: 'Severity', render: (f) => badge(f.severity) },
                { label: 'Status', render: (f) => (can.audit()
                    ? select('status', ['open', 'accepted', 'fixed'], f.status) : f.status) },
                { label: 'Note', render: (f) => (can.audit() ? h('input', { name: 'note', value: f.note, size: 16 }) : f.note) },
                { label: '', render: (f) => (can.audit() ? h('button.small', {
                    onclick: (e) => {
                        const tr = e.target.closest('tr');
                        put({ findings: [{ id: f.id, status: tr.querySelector('select').value,
                                           note: tr.querySelector('input').value }] }, `Finding ${f.id} updated`);
                    },
                }, 'Update') : '') },
            ], a.findings, { testid: 'findings-table', empty: 'No findings' }));
    }

    await load();
}

// --- risk register

export async function risk(el) {
    const r = await api.get('risk/');
    el.append(
        h('div.stats', {},
          ['critical', 'high', 'medium', 'low'].map((k) => h(`div.stat.s-${r.counts[k] && k !== 'low' ? k : 'none'}`, {},
                                                       h('div.statv', {}, String(r.counts[k])), h('div.statl', {}, k))),
          h('div.stat', {}, h('div.statv', {}, String(r.total)), h('div.statl', {}, `total score (${r.trend})`))),
        h('p.muted', {}, `Assessed ${fmtTime(r.assessed_at)} over ${fmtTime(r.period.since)} – ${fmtTime(r.period.until)}. ${r.formula}`),
        table([
            { label: '#', key: 'rank' },
            { label: 'Risk', render: (x) => h('div', {}, h('b', {}, x.title), h('div.muted.mono', {}, x.control)) },
            { label: 'Level', render: (x) => badge(x.level) },
            { label: 'Score', render: (x) => `${x.score} (${x.likelihood}×${x.impact})` },
            { label: 'Trend', key: 'trend' },
            { label: 'Remediation', key: 'remediation', cls: 'wrap' },
        ], r.risks, { testid: 'risk-table', empty: 'No risks' }));
}
