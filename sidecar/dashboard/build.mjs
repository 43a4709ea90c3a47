// Builds the dashboard into one directory that keryud serves as it is:
// index.html, app.js (the views and uPlot, bundled by esbuild) and
// app.css (ours and uPlot's).  Nothing is fetched at run time.
//
//     node build.mjs [OUTDIR]        default: ../../build/dashboard

import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, '../../build/dashboard'));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await esbuild.build({
    entryPoints: {
        app: resolve(here, 'src/main.js'),
    },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    outdir: out,
    legalComments: 'none',
    logLevel: 'warning',
});

await esbuild.build({
    entryPoints: {
        app: resolve(here, 'src/style.css'),
    },
    bundle: true,
    minify: true,
    outdir: out,
    logLevel: 'warning',
});

copyFileSync(resolve(here, 'src/index.html'), resolve(out, 'index.html'));
copyFileSync(resolve(here, 'src/favicon.svg'), resolve(out, 'favicon.svg'));

console.log(`dashboard built in ${out}`);
