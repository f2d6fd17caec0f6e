// tools.mjs: function calling end to end through real clients: the `openai` npm package (required,
// named and parallel calls, whole and streamed, a second turn carrying the calls and the tools'
// results) and LangChain.js ChatOpenAI.bindTools (invoke and stream). Every call's arguments are
// checked by ajv against the tool's own parameters schema (an independent validator), on a
// random-weight Qwen2 model (chatml: Qwen2.5's tool syntax) and on stories260K served with GLM-4's
// template. Run by ctest: node tools.mjs WARD_BINARY SHARED_MODELS_DIR [COUNT]
import { check, finish, startServer } from './serve.mjs';
import OpenAI from 'openai';
import { ChatOpenAI } from '@langchain/openai';
import Ajv from 'ajv';

process.env.LANGCHAIN_TRACING_V2 = 'false'; // nothing leaves the machine
const [ward, modelsDir, count = '20'] = process.argv.slice(2);
const N_REQUESTS = Number(count);

const tools = [
  { type: 'function', function: {
    name: 'order_lab_test', description: 'Order a laboratory test for the patient',
    parameters: { type: 'object', additionalProperties: false, required: ['test', 'urgent'],
      properties: { test: { enum: ['CBC', 'CRP', 'troponin'] }, urgent: { type: 'boolean' },
                    note: { type: 'string', maxLength: 12 } } } } },
  { type: 'function', function: {
    name: 'lookup_drug', description: 'Look up a drug in the formulary',
    parameters: { type: 'object', additionalProperties: false, required: ['name', 'dose_mg'],
      properties: { name: { type: 'string', minLength: 1, maxLength: 10 },
                    dose_mg: { type: 'number' } } } } },
];
const ajv = new Ajv({ strict: false });
const validators = Object.fromEntries(tools.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
const messages = [{ role: 'user', content: '发热三天，咳嗽。What next?' }];

function validCalls(calls, maxCalls, only) {
  if (!Array.isArray(calls) || calls.length < 1 || calls.length > maxCalls) return false;
  return calls.every((c) => {
    let args = null;
    try { args = JSON.parse(c.function.arguments); } catch { return false; }
    return c.type === 'function' && typeof c.id === 'string' && validators[c.function.name] &&
           (!only || c.function.name === only) && validators[c.function.name](args);
  });
}

/* One request whole and streamed: valid calls, and the stream's deltas merged (as the openai
 * package's docs merge them, by index) equal to the whole response's calls. */
async function oneRequest(client, model, i, toolChoice, maxCalls, extra = {}) {
  const body = { model, seed: i, temperature: 1.0, max_tokens: 1500, messages, tools,
                 tool_choice: toolChoice, ...extra };
  const r = await client.chat.completions.create(body);
  const c = r.choices[0];
  const only = typeof toolChoice === 'object' ? toolChoice.function.name : null;
  check(c.finish_reason === 'tool_calls' && c.message.content === null &&
        validCalls(c.message.tool_calls, maxCalls, only),
        `${model} request ${i}: valid calls (${JSON.stringify(c.message.tool_calls)})`);
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const merged = [];
  let finish = null;
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta;
    for (const tc of d?.tool_calls ?? []) {
      if (!merged[tc.index]) merged[tc.index] = { id: tc.id, type: tc.type,
                                                  function: { name: tc.function.name, arguments: '' } };
      merged[tc.index].function.arguments += tc.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  const fns = (calls) => JSON.stringify(calls.map((x) => x.function)); // ids are per response
  check(finish === 'tool_calls' && fns(merged) === fns(c.message.tool_calls) &&
        merged.every((x) => x.type === 'function' && typeof x.id === 'string'),
        `${model} request ${i}: the streamed calls equal the whole response's`);
  return c.message.tool_calls;
}

async function openaiTests(client, model, maxCalls) {
  let calls = null;
  for (let i = 0; i < N_REQUESTS; i++) {
    const choice = i % 3 === 2 ? { type: 'function', function: { name: 'lookup_drug' } } : 'required';
    const extra = i % 3 === 1 ? { parallel_tool_calls: false } : {};
    calls = await oneRequest(client, model, i, choice, i % 3 === 1 ? 1 : maxCalls, extra);
  }
  // the next turn: the assistant's calls and each tool's result go back to the model
  const next = await client.chat.completions.create({
    model, max_tokens: 8, messages: [...messages, { role: 'assistant', content: null, tool_calls: calls },
      ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: '{"result": "ok"}' }))] });
  check(typeof next.choices[0].message.content === 'string', `${model}: a turn after tool results`);
}

async function langchainTests(port, model) {
  const llm = new ChatOpenAI({ model, apiKey: 'none', temperature: 1, maxTokens: 1500,
                               configuration: { baseURL: `http://127.0.0.1:${port}/v1` } });
  const bound = llm.bindTools(tools, { tool_choice: 'required' });
  const msg = await bound.invoke('发热三天，咳嗽。What next?');
  check(msg.tool_calls?.length >= 1 &&
        msg.tool_calls.every((c) => validators[c.name] && validators[c.name](c.args)),
        `LangChain invoke: valid tool_calls (${JSON.stringify(msg.tool_calls)})`);
  let acc = null;
  for await (const chunk of await bound.stream('发热三天，咳嗽。What next?')) acc = acc ? acc.concat(chunk) : chunk;
  check(acc?.tool_calls?.length >= 1 &&
        acc.tool_calls.every((c) => validators[c.name] && validators[c.name](c.args)),
        `LangChain stream: valid tool_calls (${JSON.stringify(acc?.tool_calls)})`);
}

const { srv, port } = await startServer(ward, [
  '-m', `qwen=${modelsDir}/random-qwen2.gguf`, '--parallel', '2', '-t', '2', '--ctx', '4096']);
const glm = await startServer(ward, ['-m', `glm=${modelsDir}/stories260K.gguf`, '--chat-template',
                                     'glm4', '-t', '2', '--ctx', '4096']);
try {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0,
                              timeout: 120000 });
  await openaiTests(client, 'qwen', 8);
  await langchainTests(port, 'qwen');
  const glmClient = new OpenAI({ baseURL: `http://127.0.0.1:${glm.port}/v1`, apiKey: 'none',
                                 maxRetries: 0, timeout: 120000 });
  await openaiTests(glmClient, 'glm', 1); // GLM-4 makes one call per reply
} catch (e) {
  check(false, `unexpected: ${e.stack ?? e}`);
}
glm.srv.kill('SIGTERM');
await finish(srv);
