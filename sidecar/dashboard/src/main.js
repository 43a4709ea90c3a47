// The dashboard's shell: sign-in, the navigation, the router (views live
// in the location's hash, so keryud serves one page), the status poller
// whose samples feed the charts, and the toasts.

import { api, session, signIn, signOut, can } from './api.js';
import { h, clear } from './dom.js';
import { settings } from './settings.js';
import * as monitor from './monitor.js';
import * as manage from './manage.js';
import * as comply from './comply.js';

const views = [
    { path: 'overview', title: 'Overview', group: 'Monitoring', view: monitor.overview },
    { path: 'events', title: 'Events', group: 'Monitoring', view: monitor.events },
    { path: 'alerts', title: 'Alerts', group: 'Monitoring', view: monitor.alerts },
    { path: 'blocks', title: 'Blocks', group: 'Monitoring', view: monitor.blocks, when: can.readAll },
    { path: 'status', title: 'System status', group: 'Monitoring', view: monitor.status },
    { path: 'metrics', title: 'Performance', group: 'Monitoring', view: monitor.metrics },
    { path: 'policies', title: 'Policies', group: 'Management', view: manage.policies, when: can.readAll },
    { path: 'keys', title: 'Keys', group: 'Management', view: manage.keys, when: can.readAll },
    { path: 'tokens', title: 'Tokens & API keys', group: 'Management', view: manage.tokens },
    { path: 'settings', title: 'Settings', group: 'Management', view: manage.settingsView },
    { path: 'compliance', title: 'Compliance', group: 'Compliance', view: comply.compliance, when: can.readAll },
    { path: 'reports', title: 'Reports', group: 'Compliance', view: comply.reports, when: can.readAll },
    { path: 'audits', title: 'Audits', group: 'Compliance', view: comply.audits, when: can.readAll },
    { path: 'risk', title: 'Risk register', group: 'Compliance', view: comply.risk, when: can.readAll },
];

const app = document.getElementById('app');
let cleanups = [];
let poller = null;

// samples of /status/ since sign-in, for the performance charts of the
// roles that may not read keryud's own history
export const history = { t: [], consumed: [], lag: [], storeLag: [], open: [],
                         storeBytes: [], mapBytes: [], workers: [], listeners: new Set() };

export function toast(text, kind = 'info') {
    let box = document.getElementById('toasts');
    if (!box) {
        box = h('div.toasts', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
        document.body.appendChild(box);
    }
    const t = h(`div.toast.t-${kind}`, {}, text);
    box.appendChild(t);
    while (box.children.length > 4) box.firstChild.remove();
    setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

function leaveView() {
    for (const c of cleanups) c();
    cleanups = [];
}

function signInView(message) {
    stopPolling();
    leaveView();
    clear(app);
    const input = h('input', { type: 'password', name: 'token', id: 'token',
                               autocomplete: 'off', spellcheck: 'false',
                               placeholder: 'kry_…', required: true });
    const err = h('p.error', { role: 'alert', 'data-testid': 'signin-error' }, message || '');
    const form = h('form.signin', {
        onsubmit: async (e) => {
            e.preventDefault();
            err.textContent = '';
            const button = form.querySelector('button');
            button.disabled = true;
            try {
                await signIn(input.value.trim());
                input.value = '';
                if (!location.hash || location.hash === '#/') location.hash = '#/overview';
                start();
            } catch (ex) {
                err.textContent = ex.status === 401 ? 'That token is not valid.'
                    : ex.status === 429 ? 'Too many failed attempts; wait a minute.'
                    : `Sign-in failed: ${ex.message}`;
            } finally {
                button.disabled = false;
            }
        },
    },
    h('div.brand.big', {}, h('img', { src: 'favicon.svg', alt: '' }), 'Keryu Security'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h('button.primary', { type: 'submit' }, 'Sign in'),
    err,
    h('p.hint', {}, 'Tokens are made with "keryud token create --role admin|auditor|viewer". ',
      'The token stays in this tab only and is forgotten when it closes.'));
    app.appendChild(form);
    input.focus();
}

function shell() {
    clear(app);
    const groups = {};
    for (const v of views) {
        if (v.when && !v.when()) continue;
        (groups[v.group] ||= []).push(v);
    }
    const nav = h('nav.side', { 'aria-label': 'Views' },
        h('div.brand', {}, h('img', { src: 'favicon.svg', alt: '' }), 'Keryu'),
        Object.entries(groups).map(([g, vs]) => h('div.navgroup', {},
            h('div.navtitle', {}, g),
            vs.map((v) => h('a', { href: `#/${v.path}`, 'data-view': v.path }, v.title)))),
        h('div.who', {},
            h('span', { 'data-testid': 'who' }, session.name), ' ',
            h('span.badge.b-role', { 'data-testid': 'role' }, session.role),
            h('button.link', { onclick: () => { signOut(); location.hash = ''; signInView('Signed out.'); } },
              'Sign out')));
    const main = h('main', { id: 'view' });
    app.appendChild(h('div.layout', {}, nav, main));
}

function route() {
    if (!session.role) return;
    leaveView();

    const path = (location.hash.replace(/^#\/?/, '').split('?')[0]) || 'overview';
    const v = views.find((x) => x.path === path && (!x.when || x.when()))
        || views[0];

    for (const a of document.querySelectorAll('nav.side a')) {
        a.classList.toggle('active', a.dataset.view === v.path);
        if (a.dataset.view === v.path) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
    }

    const main = document.getElementById('view');
    clear(main);
    document.title = `${v.title} · Keryu Security`;
    main.appendChild(h('h1', {}, v.title));
    const body = h('div.viewbody', { 'data-view': v.path });
    main.appendChild(body);

    const ctx = {
        toast,
        history,
        every(ms, fn) {
            const id = setInterval(fn, ms);
            cleanups.push(() => clearInterval(id));
        },
        onLeave(fn) { cleanups.push(fn); },
        fail(e) {
            if (e && e.status === 401) return;
            toast(e.message || String(e), 'error');
        },
    };

    Promise.resolve(v.view(body, ctx)).catch(ctx.fail);
}

async function sample() {
    try {
        const s = await api.get('status/');
        const now = Date.now() / 1000;
        const push = (k, v) => { history[k].push(v); if (history[k].length > 720) history[k].shift(); };
        push('t', now);
        push('consumed', s.keryud.consumed);
        push('lag', s.keryud.lag);
        push('storeLag', s.store.lag);
        push('open', s.alerts.open);
        push('storeBytes', s.module.store_bytes);
        push('mapBytes', s.module.store_map_bytes);
        push('workers', s.enforcement.workers);
        for (const l of history.listeners) l(s);
    } catch (e) {
        if (e.status !== 401) toast(`status: ${e.message}`, 'error');
    }
}

function stopPolling() {
    if (poller) clearInterval(poller);
    poller = null;
}

function start() {
    shell();
    stopPolling();
    sample();
    poller = setInterval(sample, settings.get('statusInterval') * 1000);
    route();
}

session.onExpired = () => {
    signOut();
    signInView('Your token was refused; sign in again.');
};

window.addEventListener('hashchange', route);
settings.onChange(() => { if (session.role) start(); });

if (session.token) {
    signIn(session.token).then(start, () => { signOut(); signInView(); });
} else {
    signInView();
}
