// load.mjs: 32 concurrent streaming clients against one `ward serve` (4 slots, a queue of 8) for
// a few seconds on loopback. Every answer must be a complete stream or an intended 429 (with
// Retry-After); afterwards every slot is free and nothing waits (/metrics), and the server's
// resident memory after the load is within 16 MiB of what it was after the first second (flat:
// no per-request leak). In a sanitizer build ASan's quarantine holds freed memory, so resident
// memory says nothing there; LeakSanitizer checks the server at its exit instead (exit 0).
// Run by ctest: node load.mjs WARD_BINARY MODEL.gguf [sanitized|plain]
import { readFileSync } from 'node:fs';
import { check, finish, startServer } from './serve.mjs';

const [ward, modelPath, build = 'plain'] = process.argv.slice(2);
const SECONDS = 6, CLIENTS = 32;

const { srv, base } = await startServer(ward, ['-m', `stories=${modelPath}`, '--parallel', '4',
                                               '--queue', '8', '-t', '2']);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]);

const counts = { ok: 0, busy: 0, other: 0, incomplete: 0 };
let rssEarly = 0;
const until = Date.now() + SECONDS * 1000;
async function client(k) {
  for (let i = 0; Date.now() < until; i++) {
    try {
      const res = await fetch(`${base}/v1/completions`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'stories', prompt: `Client ${k} story ${i}:`, max_tokens: 24,
                               stream: true, seed: k * 1000 + i }) });
      if (res.status === 429) {
        counts.busy += res.headers.get('retry-after') ? 1 : 0;
        counts.other += res.headers.get('retry-after') ? 0 : 1;
        await res.text();
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const body = await res.text();
      if (res.status === 200 && body.trimEnd().endsWith('data: [DONE]')) counts.ok++;
      else if (res.status === 200) counts.incomplete++;
      else counts.other++;
    } catch (e) {
      counts.other++;
    }
  }
}
setTimeout(() => { rssEarly = rss(); }, 1000);
await Promise.all(Array.from({ length: CLIENTS }, (_, k) => client(k)));
const rssLate = rss();
console.log(`${SECONDS} s, ${CLIENTS} clients: ${counts.ok} complete streams, ${counts.busy} 429s, ` +
            `${counts.incomplete} incomplete, ${counts.other} other; RSS ${rssEarly} -> ${rssLate} KiB`);
check(counts.ok > 50, 'many complete streams');
check(counts.other === 0 && counts.incomplete === 0, 'no failures but intended 429s (with Retry-After)');
if (build === 'sanitized') console.log('RSS not checked: sanitizer build (LeakSanitizer checks at exit)');
else check(rssLate - rssEarly < 16 * 1024, 'memory flat under load');
const metrics = await (await fetch(`${base}/metrics`)).text();
check(/ward_slots_active\{model="stories"\} 0\n/.test(metrics) &&
      /ward_queue_depth\{model="stories"\} 0\n/.test(metrics), 'afterwards every slot is free');
await finish(srv);
