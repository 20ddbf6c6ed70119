// keymux end-to-end check: the official OpenAI Node SDK against an OpenAI-compatible endpoint
// (the gateway, or the mock provider directly).
//
// How `openai` is resolved: this file lives in the repository, but install.sh copies it into
// the SDK cache directory (next to node_modules) and prints that directory; run the copy:
//
//   DIR=$(tests/e2e/sdk/install.sh | tail -n1)
//   node "$DIR/sdk_check.mjs" --base-url http://127.0.0.1:PORT/v1 --api-key TOKEN \
//        --model MODEL --limited-model MODEL2 [--limited-api-key TOKEN2] [--timeout-ms N]
//
// ES modules ignore NODE_PATH: a bare `import 'openai'` is resolved from the importing file's
// directory upwards, hence the copy.
//
// Checks (each prints "PASS name" or "FAIL name: why"; exit status = number of failures):
//   chat        a non-streamed chat completion: non-empty content, usage.total_tokens > 0
//   stream      stream + stream_options.include_usage: >= 2 content deltas, non-empty text,
//               a final chunk with usage
//   rate_limit  with --limited-model (and --limited-api-key, default --api-key), maxRetries 0:
//               up to 5 calls until one throws OpenAI.RateLimitError with status 429, an error
//               code from the parsed body and a retry-after header
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function usage(msg) {
  if (msg) console.error(`sdk_check: ${msg}`);
  console.error('usage: node sdk_check.mjs --base-url URL --api-key TOKEN --model MODEL ' +
    '--limited-model MODEL2 [--limited-api-key TOKEN2] [--timeout-ms N]');
  process.exit(100);
}

function parseArgs(argv) {
  const known = new Set(['base-url', 'api-key', 'model', 'limited-model', 'limited-api-key', 'timeout-ms']);
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') usage();
    if (!a.startsWith('--')) usage(`unexpected argument: ${a}`);
    let name = a.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[++i];
    }
    if (!known.has(name)) usage(`unknown option --${name}`);
    if (value === undefined) usage(`--${name} needs a value`);
    out[name] = value;
  }
  for (const req of ['base-url', 'api-key', 'model', 'limited-model']) {
    if (!out[req]) usage(`--${req} is required`);
  }
  out['limited-api-key'] ??= out['api-key'];
  out['timeout-ms'] = Number(out['timeout-ms'] ?? 30000);
  return out;
}

const opts = parseArgs(process.argv.slice(2));

function sdkVersion() {  // openai/package.json is not in the package's exports: walk up
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      return JSON.parse(readFileSync(join(dir, 'node_modules', 'openai', 'package.json'), 'utf8')).version;
    } catch {
      if (dirname(dir) === dir) return 'unknown';
    }
  }
}

// The SDK's headers: a plain object in 4.x, a fetch Headers object in 5.x.
function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function describe(err) {
  if (err instanceof OpenAI.APIError) {
    return `${err.constructor.name} status=${err.status} code=${err.code ?? '-'}: ${err.message}`;
  }
  return String(err?.stack ?? err);
}

const client = new OpenAI({
  baseURL: opts['base-url'],
  apiKey: opts['api-key'],
  maxRetries: 0, // a failure must show, not be hidden by the SDK's own retries
  timeout: opts['timeout-ms'],
});
const limitedClient = new OpenAI({
  baseURL: opts['base-url'],
  apiKey: opts['limited-api-key'],
  maxRetries: 0,
  timeout: opts['timeout-ms'],
});
const messages = [{ role: 'user', content: 'hi' }];

let failures = 0;
async function check(name, fn) {
  try {
    const note = await fn();
    console.log(`PASS ${name}${note ? ` (${note})` : ''}`);
  } catch (err) {
    failures++;
    const why = err instanceof CheckFailure ? err.message : describe(err);
    console.log(`FAIL ${name}: ${why}`);
  }
}
class CheckFailure extends Error {}
function expect(cond, why) {
  if (!cond) throw new CheckFailure(why);
}

console.log(`# openai-node ${sdkVersion()} on node ${process.version} against ${opts['base-url']}`);

await check('chat', async () => {
  const r = await client.chat.completions.create({ model: opts.model, messages });
  const content = r?.choices?.[0]?.message?.content;
  expect(typeof content === 'string' && content.length > 0,
    `choices[0].message.content is not a non-empty string: ${JSON.stringify(content)}`);
  const total = r?.usage?.total_tokens;
  expect(typeof total === 'number' && total > 0, `usage.total_tokens is not > 0: ${JSON.stringify(r?.usage)}`);
  return `${JSON.stringify(content)}, ${total} tokens`;
});

await check('stream', async () => {
  const stream = await client.chat.completions.create({
    model: opts.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let chunks = 0;
  let contentChunks = 0;
  let text = '';
  let usage = null;
  let usageLast = false;
  for await (const chunk of stream) {
    chunks++;
    const delta = chunk?.choices?.[0]?.delta?.content;
    if (typeof delta === 'string' && delta.length > 0) {
      contentChunks++;
      text += delta;
    }
    usageLast = chunk?.usage != null;
    if (usageLast) usage = chunk.usage;
  }
  expect(contentChunks >= 2, `${contentChunks} chunk(s) with a content delta (of ${chunks}), want >= 2`);
  expect(text.length > 0, 'the concatenated text is empty');
  expect(usage !== null && usageLast, usage === null
    ? `no chunk carried usage (${chunks} chunks)`
    : 'usage came before the last chunk');
  expect(typeof usage.total_tokens === 'number' && usage.total_tokens > 0,
    `final usage.total_tokens is not > 0: ${JSON.stringify(usage)}`);
  return `${contentChunks} content chunks of ${chunks}, ${JSON.stringify(text)}, ${usage.total_tokens} tokens`;
});

await check('rate_limit', async () => {
  const attempts = 5;
  for (let i = 1; i <= attempts; i++) {
    try {
      await limitedClient.chat.completions.create({ model: opts['limited-model'], messages });
      continue; // the limit may not bite at once
    } catch (err) {
      expect(err instanceof OpenAI.RateLimitError,
        `call ${i} threw something else than OpenAI.RateLimitError: ${describe(err)}`);
      expect(err.status === 429, `status ${err.status}, want 429`);
      // The parsed body: 4.x/5.x expose body.error as err.error and its code as err.code.
      const code = err.code ?? err.error?.code ?? err.error?.error?.code;
      expect(typeof code === 'string' && code.length > 0,
        `no error code in the parsed body: err.code=${JSON.stringify(err.code)} err.error=${JSON.stringify(err.error)}`);
      const retryAfter = header(err.headers, 'retry-after');
      expect(retryAfter !== undefined && retryAfter !== '', 'the 429 has no retry-after header');
      return `call ${i}: 429 code=${code} retry-after=${retryAfter}`;
    }
  }
  throw new CheckFailure(`${attempts} calls with model ${opts['limited-model']} all succeeded: no 429`);
});

process.exit(failures);
