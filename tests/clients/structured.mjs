// structured.mjs: structured output end to end. 100 seeded requests (or the count given after the
// models directory) through the openai client
// with json_schema response formats against random-weight models; every answer must parse and
// validate under its schema, checked by ajv (an independent JSON Schema validator), finish with
// "stop" and stay within the schema's bounds (at most 800 tokens here: the longest schema allows
// about 800 characters with its whitespace, and stories260K's tokens are mostly one character). Also json_object mode, and a schema ward cannot
// enforce refused with a 400 naming the keyword.
// Run by ctest: node structured.mjs WARD_BINARY SHARED_MODELS_DIR [COUNT]
import { check, finish, startServer } from './serve.mjs';
import OpenAI from 'openai';
import Ajv from 'ajv';

const [ward, modelsDir, count = '100'] = process.argv.slice(2);
const N_REQUESTS = Number(count);

const schemas = {
  differential: {
    type: 'object', additionalProperties: false, required: ['diagnoses'],
    properties: {
      diagnoses: {
        type: 'array', minItems: 1, maxItems: 3,
        items: {
          type: 'object', additionalProperties: false,
          required: ['name', 'likelihood', 'supporting', 'opposing', 'tests'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 12 },
            likelihood: { enum: ['high', 'medium', 'low'] },
            supporting: { type: 'array', maxItems: 2, items: { type: 'string', maxLength: 10 } },
            opposing: { type: 'array', maxItems: 2, items: { type: 'string', maxLength: 10 } },
            tests: { type: 'array', maxItems: 2, items: { type: 'string', maxLength: 10 } },
          },
        },
      },
    },
  },
  discharge: {
    type: 'object', additionalProperties: false,
    required: ['出院诊断', '入院情况', '诊疗经过', '出院情况', '出院医嘱'],
    properties: Object.fromEntries(['出院诊断', '入院情况', '诊疗经过', '出院情况', '出院医嘱']
      .map((k) => [k, { type: 'string', maxLength: 16 }])),
  },
  scalars: {
    type: 'object', additionalProperties: false,
    required: ['age', 'temp', 'febrile', 'ward', 'note', 'code'],
    properties: {
      age: { type: 'integer' }, temp: { type: 'number' }, febrile: { type: 'boolean' },
      ward: { type: 'null' }, note: { type: ['string', 'null'], maxLength: 8 },
      code: { const: 'A01' },
    },
  },
  nested: {
    type: 'object', additionalProperties: false, required: ['orders'],
    properties: {
      orders: {
        type: 'array', minItems: 2, maxItems: 2,
        items: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'integer' } },
      },
      flags: { type: 'object', properties: { a: { type: 'boolean' } } },
    },
  },
};

const ajv = new Ajv({ strict: false });
const validators = Object.fromEntries(Object.entries(schemas).map(([k, v]) => [k, ajv.compile(v)]));

async function oneRequest(client, i) {
  const names = Object.keys(schemas), name = names[i % names.length];
  const model = ['qwen', 'llama', 'stories'][Math.floor(i / names.length) % 3];
  const r = await client.chat.completions.create({
    model, seed: i, temperature: 1.0,
    messages: [{ role: 'user', content: `病例 ${i}：发热三天，请按格式回答。` }],
    response_format: { type: 'json_schema', json_schema: { name, strict: true, schema: schemas[name] } },
  });
  const c = r.choices[0];
  let value = null;
  try { value = JSON.parse(c.message.content); } catch { /* reported below */ }
  const ok = value !== null && validators[name](value) && c.finish_reason === 'stop' &&
             r.usage.completion_tokens <= 800;
  check(ok, `request ${i} (${model}, ${name}): valid, finished, ${r.usage.completion_tokens} ` +
            `tokens: ${c.message.content} ${JSON.stringify(validators[name].errors)}`);
  return r.usage.completion_tokens;
}

const { srv, port } = await startServer(ward, [
  '-m', `qwen=${modelsDir}/random-qwen2.gguf`, '-m', `llama=${modelsDir}/random-k256-Q4_0.gguf`,
  '-m', `stories=${modelsDir}/stories260K.gguf`, '--parallel', '4', '-t', '2', '--ctx', '2048']);
try {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0,
                              timeout: 60000 });
  const tokens = [];
  for (let i = 0; i < N_REQUESTS; i += 4) // four at a time: they share the batch
    tokens.push(...await Promise.all([0, 1, 2, 3].map((k) => oneRequest(client, i + k))));
  console.log(`${N_REQUESTS} structured answers: ${Math.min(...tokens)}..${Math.max(...tokens)} tokens`);

  const obj = await client.chat.completions.create({
    model: 'stories', seed: 1, max_tokens: 400, messages: [{ role: 'user', content: 'x' }],
    response_format: { type: 'json_object' } });
  if (obj.choices[0].finish_reason === 'stop') {
    let v = null;
    try { v = JSON.parse(obj.choices[0].message.content); } catch { /* below */ }
    check(v !== null && typeof v === 'object' && !Array.isArray(v), 'json_object: an object');
  } else {
    check(obj.choices[0].message.content.startsWith('{'), 'json_object: starts an object');
  }
  try {
    await client.chat.completions.create({
      model: 'qwen', messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {
        type: 'object', properties: { a: { type: 'string', pattern: '^[a-z]+$' } } } } } });
    check(false, 'an unsupported keyword is refused');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && /pattern/.test(e.message) &&
          e.param === 'response_format', `unsupported keyword: 400 naming it (${e.message})`);
  }
} catch (e) {
  check(false, `unexpected: ${e.stack ?? e}`);
}
await finish(srv);
