// serve_bench.mjs: drive an OpenAI-compatible server (ward serve, or llama.cpp's llama-server
// for comparison) with concurrent streams and report aggregate generation tokens/s and time to
// first token, as a Markdown table; then the prefix cache: a ~1000-token prompt sent, then sent
// again with another question after it, time to first token of each.
//
//   node bench/serve_bench.mjs --url http://127.0.0.1:8080 --model NAME
//        [--streams 1,4,8] [--tokens 64] [--rounds 2]
//
// Each stream posts /v1/completions with stream: true, a distinct short prompt, greedy, max_tokens
// --tokens (ignore_eos for servers that know it); tokens are counted from the stream's usage
// chunk (stream_options.include_usage) or, without one, one per content chunk. Plain Node 20, no
// packages: nothing here talks to anything but --url.
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const url = args.url ?? 'http://127.0.0.1:8080';
const model = args.model;
const streams = (args.streams ?? '1,4,8').split(',').map(Number);
const nTokens = Number(args.tokens ?? 64);
const rounds = Number(args.rounds ?? 2);
if (!model) {
  console.error('usage: node bench/serve_bench.mjs --url URL --model NAME [--streams 1,4,8] [--tokens N]');
  process.exit(2);
}

/* One streamed completion: { ttft (s), total (s), tokens }. */
async function stream(prompt, maxTokens) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature: 0, stream: true,
                           ignore_eos: true, stream_options: { include_usage: true } }) });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttft = null, chunks = 0, usage = null, buf = '';
  const decoder = new TextDecoder();
  for await (const piece of res.body) {
    buf += decoder.decode(piece, { stream: true });
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const d = JSON.parse(event.slice(6));
      if (d.usage) usage = d.usage;
      const text = d.choices?.[0]?.text ?? d.content;
      if (text) {
        if (ttft === null) ttft = (performance.now() - t0) / 1000;
        chunks++;
      }
    }
  }
  return { ttft, total: (performance.now() - t0) / 1000,
           tokens: usage?.completion_tokens ?? chunks };
}

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

console.log(`server ${url}, model ${model}, ${nTokens} tokens per stream, best of ${rounds} rounds`);
console.log('\n| streams | aggregate t/s | per stream t/s | TTFT p50 ms | TTFT p99 ms |');
console.log('|---|---|---|---|---|');
await stream('Warm up', 8);
for (const n of streams) {
  let best = null;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: n }, (_, k) =>
      stream(`Stream ${k} of round ${r}: once upon a time`, nTokens)));
    const wall = (performance.now() - t0) / 1000;
    const tokens = results.reduce((a, x) => a + x.tokens, 0);
    const row = { agg: tokens / wall, per: results.reduce((a, x) => a + x.tokens / x.total, 0) / n,
                  p50: pct(results.map((x) => x.ttft), 50), p99: pct(results.map((x) => x.ttft), 99) };
    if (!best || row.agg > best.agg) best = row;
  }
  console.log(`| ${n} | ${best.agg.toFixed(1)} | ${best.per.toFixed(1)} | ` +
              `${(best.p50 * 1000).toFixed(0)} | ${(best.p99 * 1000).toFixed(0)} |`);
}

// the prefix cache: the same ~1000-token record, then another question after it
const record = Array.from({ length: 32 }, (_, i) =>
  `Day ${i + 1}: temperature 38.${i % 10}, cough, no rash.`).join(' ');
const first = await stream(`${record}\nQuestion: what is the diagnosis?`, 4);
const second = await stream(`${record}\nQuestion: which tests are needed?`, 4);
console.log(`\nprefix cache (~1000-token record): TTFT first ${(first.ttft * 1000).toFixed(0)} ms, ` +
            `repeated prefix ${(second.ttft * 1000).toFixed(0)} ms ` +
            `(${(first.ttft / second.ttft).toFixed(1)}x)`);
