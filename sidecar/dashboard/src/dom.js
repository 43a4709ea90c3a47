// A small element builder.  Text always goes in as text nodes, never as
// HTML: every string from the API (URIs, user agents, reasons) is
// attacker-controlled.

export function h(tag, attrs, ...children) {
    const [name, ...classes] = tag.split('.');
    const el = document.createElement(name || 'div');
    if (classes.length) el.className = classes.join(' ');

    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else if (k === 'class') el.className += (el.className ? ' ' : '') + v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'value') el.value = v;
        else if (k === 'checked' || k === 'disabled' || k === 'selected')
            el[k] = Boolean(v);
        else el.setAttribute(k, v === true ? '' : String(v));
    }

    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else if (c instanceof Node) el.appendChild(c);
        else el.appendChild(document.createTextNode(String(c)));
    }
}

// replaces el's children; null, undefined and false are left out
export function fill(el, ...children) {
    clear(el);
    append(el, children);
    return el;
}

export function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
}

export function fmtTime(s) {
    if (!s) return '—';
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) return s;
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtBytes(n) {
    if (n === null || n === undefined) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function badge(text, kind) {
    return h(`span.badge.b-${kind || text}`, {}, text);
}

export function table(cols, rows, opts = {}) {
    const thead = h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c.label))));
    const tbody = h('tbody', {});
    if (!rows.length) {
        tbody.appendChild(h('tr', {}, h('td.empty', { colspan: cols.length },
                                         opts.empty || 'Nothing to show')));
    }
    for (const r of rows) {
        const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {},
                     cols.map((c) => h('td', c.cls ? { class: c.cls } : {},
                                       c.render ? c.render(r) : r[c.key] ?? '—')));
        tbody.appendChild(tr);
    }
    return h('table.grid', { 'data-testid': opts.testid }, thead, tbody);
}

export function field(label, input) {
    return h('label.field', {}, h('span', {}, label), input);
}

export function select(name, options, value) {
    return h('select', { name },
             options.map((o) => {
                 const [v, t] = Array.isArray(o) ? o : [o, o || 'any'];
                 return h('option', { value: v, selected: v === value }, t);
             }));
}

// downloads a Blob under a name, through an object URL the page made
export function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}
