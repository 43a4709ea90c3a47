// Time-series charts on uPlot: x is epoch seconds, one line per series.
// A chart is drawn from its second point on; before that it says it is
// collecting samples, since uPlot would draw empty axes.

import uPlot from 'uplot';
import { fmtBytes, h } from './dom.js';

const COLORS = ['#1f6feb', '#d29922', '#a371f7', '#3fb950'];

// x values with at least one series' value
function points(data) {
    let n = 0;
    for (let i = 0; i < data[0].length; i++) {
        if (data.slice(1).some((s) => s[i] !== null && s[i] !== undefined)) n++;
    }
    return n;
}

export function lineChart(parent, names, bytes) {
    const box = document.createElement('div');
    box.className = 'plot';
    const wait = h('p.collecting', { 'data-testid': 'chart-empty' },
                   'Collecting samples: the chart is drawn once there are two.');
    parent.append(box, wait);

    const width = () => Math.max(280, box.clientWidth || parent.clientWidth - 24);
    const opts = {
        width: width(),
        height: 200,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [
            { stroke: '#8b949e', grid: { stroke: '#30363d' } },
            { stroke: '#8b949e', grid: { stroke: '#30363d' },
              values: bytes ? (u, vs) => vs.map((v) => fmtBytes(v)) : undefined,
              size: bytes ? 70 : 50 },
        ],
        series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2,
                                                spanGaps: true, points: { show: false } }))],
    };
    let u = null;
    const onResize = () => { if (u) u.setSize({ width: width(), height: 200 }); };
    window.addEventListener('resize', onResize);

    return {
        set(data) {
            const n = points(data);
            box.dataset.points = String(n);
            if (n < 2) {
                if (u) { u.destroy(); u = null; }
                wait.hidden = false;
                return;
            }
            wait.hidden = true;
            if (u) u.setData(data);
            else u = new uPlot({ ...opts, width: width() }, data, box);
        },
        destroy: () => { window.removeEventListener('resize', onResize); if (u) u.destroy(); },
    };
}
