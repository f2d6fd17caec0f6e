// serve.mjs: what the client tests share: start `ward serve ARGS --port 0` and wait until it is
// healthy, stop it with SIGTERM, and count checks ("N passed, N failed" at the end).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

let passed = 0, failed = 0;
export function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${what}`); }
}

/* { srv, port, base } once /health answers 200. The OpenAI API alone (--no-workbench) unless
 * workbench is set. */
export async function startServer(ward, args, { workbench = false } = {}) {
  const srv = spawn(ward, ['serve', ...args, ...(workbench ? [] : ['--no-workbench']), '--port', '0'],
                    { stdio: ['ignore', 'pipe', 'ignore'] });
  // a test stopped from outside (ctest's timeout) takes its server with it
  process.on('exit', () => srv.kill('SIGKILL'));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(1));
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: srv.stdout }).once('line', resolve);
    srv.once('exit', (code) => reject(new Error(`ward serve exited with ${code}`)));
  });
  const port = Number(line.slice(line.lastIndexOf(':') + 1)), base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/health`)).status === 200) return { srv, port, base }; }
    catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('ward serve never became healthy');
}

/* SIGTERM, checked to exit 0; then the summary line and the exit status. */
export async function finish(srv) {
  const exited = new Promise((r) => srv.once('exit', (code) => r(code)));
  srv.kill('SIGTERM');
  check((await exited) === 0, 'ward serve exits 0 on SIGTERM');
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
