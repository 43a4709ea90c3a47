// Time-series charts on uPlot: x is epoch seconds, one line per series.

import uPlot from 'uplot';
import { fmtBytes } from './dom.js';

const COLORS = ['#1f6feb', '#d29922', '#a371f7', '#3fb950'];

export function lineChart(parent, names, bytes) {
    const box = document.createElement('div');
    box.className = 'plot';
    parent.appendChild(box);

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
    const u = new uPlot(opts, [[], ...names.map(() => [])], box);
    const onResize = () => u.setSize({ width: width(), height: 200 });
    window.addEventListener('resize', onResize);

    return {
        set: (data) => u.setData(data),
        destroy: () => { window.removeEventListener('resize', onResize); u.destroy(); },
    };
}
