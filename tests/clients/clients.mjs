// clients.mjs: real OpenAI clients against a real `ward serve` on a loopback port: the `openai`
// npm package (models, chat, streaming, completions, errors) and LangChain.js ChatOpenAI
// (invoke and stream). Run by ctest: node clients.mjs WARD_BINARY MODEL.gguf
// Prints "N passed, N failed" and exits non-zero on any failure.
import { check, finish, startServer } from './serve.mjs';
import OpenAI from 'openai';
import { ChatOpenAI } from '@langchain/openai';

process.env.LANGCHAIN_TRACING_V2 = 'false'; // nothing leaves the machine
const [ward, modelPath] = process.argv.slice(2);

async function openaiTests(client) {
  const models = await client.models.list();
  check(models.data.some((m) => m.id === 'stories'), 'models.list() has stories');

  const messages = [{ role: 'user', content: 'Tell a story' }];
  const whole = await client.chat.completions.create({ model: 'stories', messages, temperature: 0,
                                                        max_tokens: 16 });
  const text = whole.choices[0].message.content;
  check(typeof text === 'string' && text.length > 0, 'chat completion has content');
  check(whole.choices[0].finish_reason === 'length' && whole.usage.completion_tokens === 16,
        'finish_reason length after max_tokens, usage counted');

  const stream = await client.chat.completions.create({
    model: 'stories', messages, temperature: 0, max_tokens: 16, stream: true,
    stream_options: { include_usage: true } });
  let streamed = '', finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length) {
      streamed += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  check(streamed === text, `streamed chat equals the whole answer (${JSON.stringify(streamed)})`);
  check(finish === 'length' && usage && usage.completion_tokens === 16, 'stream finish and usage');

  const completion = await client.completions.create({ model: 'stories', prompt: 'Once upon a time',
                                                       temperature: 0, max_tokens: 12 });
  check(completion.choices[0].text.startsWith(', there was a little girl'),
        `legacy completion (${JSON.stringify(completion.choices[0].text)})`);

  try {
    await client.chat.completions.create({ model: 'nobody', messages });
    check(false, 'an unknown model is refused');
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError && e.code === 'model_not_found', 'unknown model: 404');
  }
  try {
    await client.chat.completions.create({ model: 'stories', messages, temperature: 'hot' });
    check(false, 'a wrong type is refused');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.param === 'temperature', 'wrong type: 400');
  }
  return text;
}

async function langchainTests(port, want) {
  const llm = new ChatOpenAI({ model: 'stories', apiKey: 'none', temperature: 0, maxTokens: 16,
                               configuration: { baseURL: `http://127.0.0.1:${port}/v1` } });
  const msg = await llm.invoke('Tell a story');
  check(msg.content === want, `LangChain invoke gives the same answer (${JSON.stringify(msg.content)})`);
  let streamed = '';
  for await (const chunk of await llm.stream('Tell a story')) streamed += chunk.content;
  check(streamed === want, `LangChain stream gives the same answer (${JSON.stringify(streamed)})`);
}

const { srv, port } = await startServer(ward, ['-m', `stories=${modelPath}`, '--parallel', '2',
                                               '-t', '2']);
try {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0 });
  const text = await openaiTests(client);
  await langchainTests(port, text);
} catch (e) {
  check(false, `unexpected: ${e.stack ?? e}`);
}
await finish(srv);
