// The official openai npm client pointed at the llm-metrics metering proxy (run by OpenAiNodeClientTest).
// Each scenario is called through the proxy and straight at the fake upstream; what the client gets must be
// the same, byte for byte (a stream less the usage chunk the client did not ask for). Exits non-zero on the
// first difference. Env: PROXY_BASE_URL, UPSTREAM_BASE_URL, SESSION_ID.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const session = process.env.SESSION_ID;
const proxied = new OpenAI({
  baseURL: process.env.PROXY_BASE_URL,
  apiKey: 'sk-node-client',
  defaultHeaders: { 'x-session-id': session },
  maxRetries: 0,
});
const direct = new OpenAI({ baseURL: process.env.UPSTREAM_BASE_URL, apiKey: 'sk-node-client', maxRetries: 0 });
const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }];

async function rawText(client, body) {
  const response = await client.chat.completions.create(body).asResponse();
  return { status: response.status, text: await response.text() };
}

/** The stream as the upstream sends it when asked for usage, less its usage chunk. */
function lessUsageChunk(text) {
  return text.split(/(?<=\n\n)/).filter((event) => !/"choices":\[\],"usage":\{/.test(event)).join('');
}

// Plain: the raw bytes, then the parsed answer with its usage.
{
  const body = { model: 'fake-plain', messages };
  const viaProxy = await rawText(proxied, body);
  assert.equal(viaProxy.status, 200);
  assert.equal(viaProxy.text, (await rawText(direct, body)).text);
  const completion = await proxied.chat.completions.create(body);
  assert.equal(completion.choices[0].message.content, 'Hello from the fake upstream.');
  assert.equal(completion.usage.prompt_tokens_details.cached_tokens, 100);
}

// Streamed without asking for usage: every chunk but the usage one, in order, as the SDK parses them.
{
  const body = { model: 'fake-stream', messages, stream: true };
  const viaProxy = await rawText(proxied, body);
  const asked = await rawText(direct, { ...body, stream_options: { include_usage: true } });
  assert.notEqual(asked.text, lessUsageChunk(asked.text), 'the upstream sent a usage chunk when asked');
  assert.equal(viaProxy.text, lessUsageChunk(asked.text));
  let content = '';
  for await (const chunk of await proxied.chat.completions.create(body)) {
    assert.ok(chunk.choices.length > 0, 'no usage chunk reaches a client that did not ask for it');
    content += chunk.choices[0].delta.content ?? '';
  }
  assert.equal(content, 'Hello ✓');
}

// A tool call.
{
  const completion = await proxied.chat.completions.create({
    model: 'fake-tools', messages,
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
  });
  assert.deepEqual(completion.choices[0].message.tool_calls.map((c) => c.function.name), ['get_weather', 'get_time']);
}

// Errors reach the SDK as the upstream sent them: its error classes, status, body and request id.
for (const [model, type] of [['fake-429', OpenAI.RateLimitError], ['fake-500', OpenAI.InternalServerError]]) {
  const body = { model, messages };
  const viaProxy = await proxied.chat.completions.create(body).then(() => null, (e) => e);
  const straight = await direct.chat.completions.create(body).then(() => null, (e) => e);
  assert.ok(viaProxy instanceof type, `${model}: ${viaProxy}`);
  assert.equal(viaProxy.status, straight.status);
  assert.deepEqual(viaProxy.error, straight.error);
  assert.equal(viaProxy.requestID, 'req_fake');
}

// A slow first token.
{
  const started = Date.now();
  let firstAt = 0;
  for await (const chunk of await proxied.chat.completions.create({ model: 'fake-slow', messages, stream: true })) {
    if (!firstAt && chunk.choices[0]?.delta?.content) {
      firstAt = Date.now() - started;
    }
  }
  assert.ok(firstAt >= 600, `first token after ${firstAt} ms`);
}

// A client that goes away mid-stream.
{
  const controller = new AbortController();
  const stream = await proxied.chat.completions.create(
    { model: 'fake-endless', messages, stream: true }, { signal: controller.signal });
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      if (++chunks === 3) {
        controller.abort(); // the SDK ends the iteration, or throws its abort error
      }
    }
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', `${e}`);
  }
  assert.ok(chunks >= 3, `${chunks} chunks`); // chunks already parsed may still come after the abort
}
console.log('openai npm client: all scenarios passed');
