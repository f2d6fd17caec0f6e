// build.mjs: bundles the web app into dist/ (index.html, assets/app.js, assets/app.css) with
// esbuild: everything the browser loads comes from ward itself, nothing from the network.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';

const here = new URL('.', import.meta.url).pathname;
await rm(`${here}dist`, { recursive: true, force: true });
await mkdir(`${here}dist/assets`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.js`], bundle: true, minify: true, format: 'esm',
  target: ['es2020'], outfile: `${here}dist/assets/app.js`, logLevel: 'warning',
  legalComments: 'none',
});
await copyFile(`${here}src/index.html`, `${here}dist/index.html`);
await copyFile(`${here}src/style.css`, `${here}dist/assets/app.css`);
console.log('web/dist built');
