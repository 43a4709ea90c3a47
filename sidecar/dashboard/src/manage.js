// Management views: the policy editor (checked against keryud's compiler
// as one types), shadow mode, keys, tokens and API keys, settings.

import { api, can, session } from './api.js';
import { h, clear, fill, fmtTime, badge, table, field, select, saveBlob } from './dom.js';
import { settings } from './settings.js';

const TEMPLATE = `{
    "name": "new-policy",
    "description": "",
    "policy_type": "access",
    "priority": 100,
    "shadow": true,
    "rules": [
        {
            "id": "admin-area",
            "path": "/admin/",
            "effect": "allow",
            "roles": ["admin"]
        }
    ]
}
`;

// the string index of line and column (from 1, in characters) in text:
// keryud counts bytes in "offset", JavaScript UTF-16 units
function indexAt(text, line, column) {
    const lines = text.split('\n');
    let i = 0;
    for (let n = 1; n < line && n <= lines.length; n++) i += lines[n - 1].length + 1;
    const here = Array.from(lines[line - 1] ?? '').slice(0, column - 1).join('');
    return Math.min(text.length, i + here.length);
}

// the document as the editor shows it: without keryud's stamps
function editable(doc) {
    const { created_at: _c, updated_at: _u, ...rest } = doc;
    return `${JSON.stringify(rest, null, 4)}\n`;
}

// --- policies

export async function policies(el, ctx) {
    const list = h('div.listpane.narrow');
    const edit = h('div.editorpane');
    el.append(h('div.split', {}, list, edit));

    let items = [];
    let current = null;     // the stored name being edited; null: a new one

    async function load() {
        items = (await api.get('policies/')).items;
        fill(list, 
            can.admin() ? h('button.primary', { onclick: () => open(null), 'data-testid': 'new-policy' }, 'New policy') : null,
            table([
                { label: 'Name', render: (p) => h('a', { href: '#/policies', onclick: (e) => { e.preventDefault(); open(p.name); } }, p.name) },
                { label: 'Type', key: 'policy_type' },
                { label: 'Active', render: (p) => flag(p, 'is_active', p.is_active !== false, 'active: enforced at all') },
                { label: 'Shadow', render: (p) => flag(p, 'shadow', p.shadow === true, 'shadow mode: evaluate, never refuse') },
            ], items, { testid: 'policies-table', empty: 'No policies' }));
    }

    function flag(p, key, on, title) {
        if (!can.admin()) return on ? 'yes' : 'no';
        return h('input', { type: 'checkbox', checked: on, title, 'aria-label': `${key} of ${p.name}`,
                            dataset: { [key === 'shadow' ? 'shadow' : 'active']: p.name },
                            onchange: (e) => setFlag(p, key, e.target.checked) });
    }

    // stores the policy again with one flag changed, as the editor would
    async function setFlag(p, key, on) {
        const doc = JSON.parse(editable(p));
        doc[key] = on;
        try {
            await api.put(`policies/${encodeURIComponent(p.name)}/`, doc);
            ctx.toast(`${p.name}: ${key === 'shadow' ? 'shadow mode' : 'active'} ${on ? 'on' : 'off'}`);
        } catch (e) {
            ctx.fail(e);
        }
        await load();
        if (current === p.name) open(p.name);
    }

    function open(name) {
        current = name;
        const p = name ? items.find((x) => x.name === name) : null;
        const text = p ? editable(p) : TEMPLATE;
        const ro = !can.admin();

        const gutter = h('div.gutter', { 'aria-hidden': 'true' });
        const backdrop = h('pre.backdrop', { 'aria-hidden': 'true' });
        const area = h('textarea.code', { spellcheck: 'false', 'data-testid': 'policy-text',
                                          'aria-label': 'policy document', readonly: ro, wrap: 'off' });
        area.value = text;
        const msg = h('div.validation', { role: 'status', 'data-testid': 'policy-validation' });
        const save = h('button.primary', { 'data-testid': 'policy-save', disabled: true }, name ? 'Save' : 'Create');
        const del = name && can.admin() ? h('button.danger', {}, 'Delete') : null;

        let seq = 0;
        let timer = null;
        let valid = false;

        function paint(err) {
            const v = area.value;
            const lines = v.split('\n').length;
            fill(gutter, ...Array.from({ length: lines }, (_, i) =>
                h(`div${err && err.line === i + 1 ? '.errline' : ''}`, {}, String(i + 1))));
            clear(backdrop);
            if (err && err.line) {
                const at = indexAt(v, err.line, err.column);
                const end = at < v.length && v[at] !== '\n' ? at + 1 : at;
                backdrop.append(v.slice(0, at),
                                h('mark', { 'data-testid': 'error-mark' }, end > at ? v.slice(at, end) : ' '),
                                v.slice(end));
            } else {
                backdrop.append(v);
            }
            backdrop.append('\n');
            sync();
        }

        function sync() {
            backdrop.scrollTop = area.scrollTop;
            backdrop.scrollLeft = area.scrollLeft;
            gutter.scrollTop = area.scrollTop;
        }

        async function validate() {
            const mine = ++seq;
            const r = await api.post('policies/validate/', area.value);
            if (mine !== seq) return;
            valid = r.valid;
            save.disabled = ro || !valid;
            if (r.valid) {
                fill(msg, h('span.ok', {}, `✓ valid policy "${r.name}"`));
                msg.className = 'validation ok';
                paint(null);
            } else {
                msg.className = 'validation bad';
                fill(msg, 
                    r.line ? h('button.link', { 'data-testid': 'error-place', onclick: () => {
                        const at = indexAt(area.value, r.line, r.column);
                        area.focus();
                        area.setSelectionRange(at, at + 1);
                    } }, `line ${r.line}, column ${r.column}`) : null,
                    r.line ? ': ' : '', h('span', { 'data-testid': 'error-text' }, r.error));
                paint(r);
            }
        }

        area.addEventListener('input', () => {
            save.disabled = true;
            paint(null);
            clearTimeout(timer);
            if (can.admin()) timer = setTimeout(() => validate().catch(ctx.fail), 250);
        });
        area.addEventListener('scroll', sync);
        area.addEventListener('keydown', (e) => {
            if (e.key === 'Tab' && !ro) {
                e.preventDefault();
                area.setRangeText('    ', area.selectionStart, area.selectionEnd, 'end');
                area.dispatchEvent(new Event('input'));
            }
        });

        save.addEventListener('click', async () => {
            if (!valid) return;
            try {
                const doc = area.value;
                const stored = name ? await api.put(`policies/${encodeURIComponent(name)}/`, doc)
                    : await api.post('policies/', doc);
                ctx.toast(`Policy "${stored.name}" saved`);
                await load();
                open(stored.name);
            } catch (e) {
                fill(msg, h('span', { 'data-testid': 'error-text' }, `Refused by keryud: ${e.message}`));
                msg.className = 'validation bad';
            }
        });

        if (del) {
            del.addEventListener('click', async () => {
                if (!window.confirm(`Delete policy "${name}"?`)) return;
                try {
                    await api.del(`policies/${encodeURIComponent(name)}/`);
                    ctx.toast(`Policy "${name}" deleted`);
                    await load();
                    open(null);
                } catch (e) {
                    ctx.fail(e);
                }
            });
        }

        fill(edit, 
            h('h2', {}, name ? `Policy ${name}` : 'New policy'),
            p ? h('p.muted', {}, `created ${fmtTime(p.created_at)}, updated ${fmtTime(p.updated_at)}`) : null,
            h('div.editor', {}, gutter, h('div.codebox', {}, backdrop, area)),
            msg,
            can.admin() ? h('div.actions', {}, save, del) : h('p.muted', {}, 'Read only: your role may not change policies.'));
        paint(null);
        if (can.admin()) validate().catch(ctx.fail);
    }

    await load();
    open(items.length ? items[0].name : null);
}

// --- keys

const ROTATABLE = ['log_sealing', 'data', 'report_signing', 'webhook_signing'];

export async function keys(el, ctx) {
    const list = h('div');
    const out = h('div', { 'data-testid': 'keys-result' });

    const rotate = h('form.filters', {
        onsubmit: async (e) => {
            e.preventDefault();
            const type = new FormData(rotate).get('key_type');
            if (!window.confirm(`Rotate the ${type} key?`)) return;
            try {
                const r = await api.post('keys/rotate/', { key_type: type });
                ctx.toast(`${type}: new key ${r.active.kid}, version ${r.active.version}`);
                await load();
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    }, field('Key type', select('key_type', ROTATABLE, 'data')), h('button.primary', { type: 'submit' }, 'Rotate'));

    const pass = h('input', { type: 'password', name: 'passphrase', minlength: 12, required: true, autocomplete: 'new-password' });
    const backup = h('form.filters', {
        onsubmit: async (e) => {
            e.preventDefault();
            try {
                const r = await api.post('keys/backup/', { passphrase: pass.value });
                pass.value = '';
                const bin = Uint8Array.from(atob(r.backup), (c) => c.charCodeAt(0));
                saveBlob(new Blob([bin], { type: 'application/octet-stream' }), 'keryu-keys.bak');
                fill(out, h('p', {}, `Backup of ${r.keys} keys, ${r.bytes} bytes, sha256 `, h('code', {}, r.sha256)));
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    }, field('Backup passphrase (12 characters or more)', pass), h('button', { type: 'submit' }, 'Download backup'));

    const validate = h('button', {
        onclick: async () => {
            try {
                const r = await api.post('keys/validate/', {});
                fill(out, h(`p.level.l-${r.valid ? 'ok' : 'fail'}`, {},
                                    r.valid ? 'Every key validated' : `${r.failed} key(s) failed`),
                    table([{ label: 'Type', key: 'key_type' }, { label: 'Version', key: 'version' },
                           { label: 'Kid', key: 'kid', cls: 'mono' }, { label: 'State', key: 'state' },
                           { label: 'Result', render: (x) => badge(x.result) }, { label: 'Reason', key: 'reason' }],
                          r.results));
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    }, 'Validate all keys');

    if (can.admin()) el.append(h('div.cards', {}, h('section.card', {}, h('h2', {}, 'Rotate'), rotate),
                                h('section.card', {}, h('h2', {}, 'Backup'), backup),
                                h('section.card', {}, h('h2', {}, 'Validate'), validate)));
    el.append(out, list);

    async function load() {
        let r;
        try {
            r = await api.get('keys/');
        } catch (e) {
            if (e.status === 503) {
                fill(list, h('p.level.l-warn', {}, 'keryud has no master key: key management is off.'));
                return;
            }
            throw e;
        }
        fill(list, table([
            { label: 'Type', key: 'key_type' }, { label: 'Version', key: 'version' },
            { label: 'Kid', key: 'kid', cls: 'mono' }, { label: 'State', render: (k) => badge(k.state) },
            { label: 'Algorithm', key: 'algorithm' }, { label: 'Created', render: (k) => fmtTime(k.created_at) },
            { label: 'Expires', render: (k) => fmtTime(k.expires_at) },
        ], r.items, { testid: 'keys-table' }));
    }

    await load();
}

// --- tokens and API keys

export async function tokens(el, ctx) {
    const st = await api.get('status/');
    const list = h('div');
    const made = h('div', { 'data-testid': 'token-made' });

    const form = h('form.filters', {
        'data-testid': 'token-form',
        onsubmit: async (e) => {
            e.preventDefault();
            const f = new FormData(form);
            const body = { role: f.get('role') };
            if (f.get('name').trim()) body.name = f.get('name').trim();
            if (f.get('expires').trim()) body.expires = f.get('expires').trim();
            try {
                const r = await api.post('tokens/', body);
                form.reset();
                const value = h('input.mono.tokenvalue', { readonly: true, value: r.token, 'data-testid': 'token-value',
                                                           'aria-label': 'the new token' });
                fill(made, h('section.card.shown', {},
                    h('h2', {}, `Token "${r.name}" (${r.role})`),
                    h('p', {}, 'Copy it now: keryud keeps only its hash and will not show it again.'),
                    h('div.actions', {}, value,
                      h('button', { type: 'button', onclick: async () => {
                          value.select();
                          try {
                              await navigator.clipboard.writeText(r.token);
                              ctx.toast('Copied');
                          } catch {
                              ctx.toast('Select the text and copy it', 'error');
                          }
                      } }, 'Copy'),
                      h('button', { type: 'button', onclick: () => clear(made) }, 'Done'))));
                await load();
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    },
    field('Role', select('role', ['viewer', 'auditor', 'admin'], 'viewer')),
    field('Name (optional)', h('input', { name: 'name', size: 14, pattern: '[A-Za-z0-9._\\-]{1,64}' })),
    field('Expires after', h('input', { name: 'expires', size: 10, placeholder: '90d; empty: never' })),
    h('button.primary', { type: 'submit' }, 'Create token'));

    async function load() {
        const r = await api.get('tokens/');
        fill(list, table([
            { label: 'Name', render: (t) => h('span', {}, t.name, t.name === session.name ? h('span.muted', {}, ' (this session)') : null) },
            { label: 'Role', render: (t) => badge(t.role, 'ev') },
            { label: 'Created', render: (t) => fmtTime(t.created_at), cls: 'nowrap' },
            { label: 'Expires', render: (t) => (t.expires_at ? fmtTime(t.expires_at) : 'never'), cls: 'nowrap' },
            { label: '', render: (t) => (can.admin() ? h('button.small.danger', {
                dataset: { revoke: t.name },
                onclick: async () => {
                    const own = t.name === session.name;
                    if (!window.confirm(own ? `Revoke "${t.name}", the token of this session? You will be signed out.`
                                            : `Revoke token "${t.name}"?`)) return;
                    try {
                        await api.del(`tokens/${encodeURIComponent(t.name)}/`);
                        ctx.toast(`Token "${t.name}" revoked`);
                        await load();
                    } catch (e) {
                        ctx.fail(e);
                    }
                },
            }, 'Revoke') : '') },
        ], r.items, { testid: 'tokens-table', empty: 'No tokens' }));
    }

    el.append(
        h('section.card', { 'data-testid': 'whoami' }, h('h2', {}, 'This session'),
          h('dl.kv', {}, h('dt', {}, 'Token name'), h('dd', {}, session.name),
            h('dt', {}, 'Role'), h('dd', {}, session.role))));

    if (can.readAll()) {
        el.append(h('h2', {}, 'API tokens'));
        if (can.admin()) el.append(form, made);
        el.append(list);
        await load();
    }

    if (can.readAll()) {
        el.append(h('h2', {}, 'API keys of the nginx module'));
        await apiKeys(el, ctx);
    }

    el.append(
        h('section.card', {}, h('h2', {}, 'Keys and clients of the nginx module'),
          h('dl.kv', { 'data-testid': 'key-counts' },
            // the list above counts API keys for the roles that see it
            can.readAll() ? null : [h('dt', {}, 'API keys'), h('dd', {}, st.keys.apikeys)],
            h('dt', {}, 'JWT keys'), h('dd', {}, st.keys.jwt),
            h('dt', {}, 'Clients'), h('dd', {}, st.keys.clients)),
          h('p', {}, 'JWT verification keys and mTLS clients live in the shared store and are managed on keryud\'s host with ',
            h('code', {}, 'keryud key'), ' and ', h('code', {}, 'keryud client'), ' (see the sidecar README).')),
        h('section.card', {}, h('h2', {}, 'Roles'),
          h('table.grid', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Role'), h('th', {}, 'May'))),
            h('tbody', {},
              h('tr', {}, h('td', {}, 'admin'), h('td', {}, 'everything')),
              h('tr', {}, h('td', {}, 'auditor'), h('td', {}, 'read everything; schedule and update audits; generate reports')),
              h('tr', {}, h('td', {}, 'viewer'), h('td', {}, 'events, alerts and system status'))))));
}

// the module's API keys: listed for admins and auditors, made and revoked
// by admins; a new key is shown once, keryud keeps only its hash

async function apiKeys(el, ctx) {
    const list = h('div');
    const made = h('div', { 'data-testid': 'apikey-made' });

    const form = h('form.filters', {
        'data-testid': 'apikey-form',
        onsubmit: async (e) => {
            e.preventDefault();
            const f = new FormData(form);
            const body = { name: f.get('name').trim(),
                           roles: f.get('roles').split(',').map((r) => r.trim()).filter((r) => r) };
            if (f.get('ttl').trim()) body.ttl = f.get('ttl').trim();
            try {
                const r = await api.post('apikeys/', body);
                form.reset();
                const value = h('input.mono.tokenvalue', { readonly: true, value: r.key, 'data-testid': 'apikey-value',
                                                           'aria-label': 'the new API key' });
                fill(made, h('section.card.shown', {},
                    h('h2', {}, `API key "${r.apikey.name}" (${r.apikey.roles.join(', ')})`),
                    h('p', {}, 'Copy it now: keryud keeps only its hash and will not show it again. '
                               + 'Clients send it in the header the module\'s keryu_identity apikey= names.'),
                    h('div.actions', {}, value,
                      h('button', { type: 'button', onclick: async () => {
                          value.select();
                          try {
                              await navigator.clipboard.writeText(r.key);
                              ctx.toast('Copied');
                          } catch {
                              ctx.toast('Select the text and copy it', 'error');
                          }
                      } }, 'Copy'),
                      h('button', { type: 'button', onclick: () => clear(made) }, 'Done'))));
                await load();
            } catch (ex) {
                ctx.fail(ex);
            }
        },
    },
    field('Name', h('input', { name: 'name', size: 14, required: true, pattern: '[A-Za-z0-9._\\-]{1,64}' })),
    field('Roles (comma-separated)', h('input', { name: 'roles', size: 20, required: true, placeholder: 'deploy, reader' })),
    field('Expires after', h('input', { name: 'ttl', size: 10, placeholder: '90d; empty: never' })),
    h('button.primary', { type: 'submit' }, 'Create API key'));

    async function load() {
        const r = await api.get('apikeys/');
        fill(list, table([
            { label: 'Name', key: 'name' },
            { label: 'Roles', render: (k) => k.roles.map((role) => badge(role, 'ev')) },
            { label: 'Created', render: (k) => fmtTime(k.created_at), cls: 'nowrap' },
            { label: 'Expires', render: (k) => (k.expires_at ? [fmtTime(k.expires_at), k.expired ? badge('expired', 'failed') : null]
                                                             : 'never'), cls: 'nowrap' },
            { label: '', render: (k) => (can.admin() ? h('button.small.danger', {
                dataset: { revokeApikey: k.name },
                onclick: async () => {
                    if (!window.confirm(`Revoke API key "${k.name}"? Clients using it are refused from the next request.`)) return;
                    try {
                        await api.del(`apikeys/${encodeURIComponent(k.name)}/`);
                        ctx.toast(`API key "${k.name}" revoked`);
                        await load();
                    } catch (e) {
                        ctx.fail(e);
                    }
                },
            }, 'Revoke') : '') },
        ], r.items, { testid: 'apikeys-table', empty: 'No API keys' }));
    }

    if (can.admin()) el.append(form, made);
    el.append(list);
    await load();
}

// --- settings

export async function settingsView(el, ctx) {
    const v = settings.all();
    const num = (name, min, max) => h('input', { type: 'number', name, min, max, value: v[name], required: true });
    const form = h('form.settings', {
        onsubmit: (e) => {
            e.preventDefault();
            const f = new FormData(form);
            settings.set({ statusInterval: Number(f.get('statusInterval')), tailInterval: Number(f.get('tailInterval')),
                           pageSize: Number(f.get('pageSize')) });
            ctx.toast('Settings saved');
        },
    },
    field('Status refresh (seconds)', num('statusInterval', 2, 300)),
    field('Live tail refresh (seconds)', num('tailInterval', 1, 60)),
    field('Events per page', num('pageSize', 10, 1000)),
    h('div.actions', {}, h('button.primary', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: () => { settings.reset(); ctx.toast('Settings reset'); } }, 'Defaults')));
    el.append(form,
        h('p.muted', {}, 'Settings are kept in this browser; the token is not, it lives in this tab until it closes.'));
}
