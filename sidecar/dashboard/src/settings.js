// Display preferences, kept in localStorage: none of them is a secret.

const KEY = 'keryu.settings';
const defaults = { statusInterval: 5, tailInterval: 2, pageSize: 50 };
const listeners = new Set();

function load() {
    try {
        return { ...defaults, ...JSON.parse(localStorage.getItem(KEY) || '{}') };
    } catch {
        return { ...defaults };
    }
}

let values = load();

export const settings = {
    defaults,
    get: (k) => values[k],
    all: () => ({ ...values }),
    set(next) {
        values = { ...values, ...next };
        localStorage.setItem(KEY, JSON.stringify(values));
        for (const l of listeners) l(values);
    },
    reset() {
        localStorage.removeItem(KEY);
        values = { ...defaults };
        for (const l of listeners) l(values);
    },
    onChange: (fn) => listeners.add(fn),
};
