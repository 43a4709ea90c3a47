// The API client.  The token lives in sessionStorage only (gone when the
// tab closes), goes out as "Authorization: Bearer", and never into a
// cookie or a URL; fetch runs with credentials "omit", so no cookie is
// sent either.

const TOKEN_KEY = 'keryu.token';

export const session = {
    token: sessionStorage.getItem(TOKEN_KEY),
    name: null,
    role: null,
    onExpired: null,
};

export class ApiError extends Error {
    constructor(status, body) {
        let msg = body && body.error ? body.error : `HTTP ${status}`;
        if (body && body.reason) msg += `: ${body.reason}`;
        if (body && body.field) msg += ` (${body.field})`;
        if (body && body.parameter) msg += ` (${body.parameter})`;
        super(msg);
        this.status = status;
        this.body = body;
    }
}

async function call(method, path, body, raw) {
    // signed out (a refused token): nothing more goes out, so that the
    // views' timers cannot run the address into the API's lockout
    if (!session.token) throw new ApiError(401, { error: 'signed out' });

    const headers = { Authorization: `Bearer ${session.token}` };
    const init = { method, headers, cache: 'no-store', credentials: 'omit',
                   referrerPolicy: 'no-referrer' };

    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }

    const r = await fetch(`/api/security/${path}`, init);

    if (raw && r.ok) return r;

    const type = r.headers.get('Content-Type') || '';
    const data = r.status === 204 ? null
        : type.startsWith('application/json') ? await r.json()
        : await r.text();

    if (!r.ok) {
        if (r.status === 401 && session.role && session.onExpired) session.onExpired();
        throw new ApiError(r.status, typeof data === 'object' ? data : null);
    }

    return data;
}

export const api = {
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b ?? {}),
    put: (p, b) => call('PUT', p, b),
    del: (p) => call('DELETE', p),
    raw: (p) => call('GET', p, undefined, true),
};

export async function signIn(token) {
    session.token = token;
    try {
        const me = await api.get('whoami/');
        session.name = me.name;
        session.role = me.role;
        sessionStorage.setItem(TOKEN_KEY, token);
        return me;
    } catch (e) {
        session.token = null;
        throw e;
    }
}

export function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    session.token = null;
    session.name = null;
    session.role = null;
}

// what the role may do; the API enforces the same, this only hides
export const can = {
    readAll: () => session.role === 'admin' || session.role === 'auditor',
    admin: () => session.role === 'admin',
    audit: () => session.role === 'admin' || session.role === 'auditor',
};

export function qs(params) {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && v !== null && v !== '') s.set(k, v);
    }
    const t = s.toString();
    return t ? `?${t}` : '';
}
