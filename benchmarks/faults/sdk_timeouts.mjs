// Eight clients of OpenAI's Node SDK (npm install openai) with a 1 s timeout and the SDK's default retries (2), each
// asking /v1/responses for a long non-streamed answer: how long the service's sessions stay busy after every client
// has given up (an answer whose client left should stop within a token).
// usage: PORT=8080 node sdk_timeouts.mjs (MODEL=<id> to name another than /v1/models' first)
import OpenAI from 'openai';
const PORT = process.env.PORT || 8080;
const MODEL = process.env.MODEL || (await (await fetch(`http://127.0.0.1:${PORT}/v1/models`)).json()).data[0].id;
const info = async () => (await (await fetch(`http://127.0.0.1:${PORT}/v1/moe/info`)).json()).admission;
const c = new OpenAI({baseURL: `http://127.0.0.1:${PORT}/v1`, apiKey: 'x', timeout: 1000});
const before = await info();
const t0 = Date.now();
const res = await Promise.allSettled(Array.from({length: 8}, () => c.responses.create({model: MODEL,
  input: 'tell me a long story '.repeat(40), max_output_tokens: 400, temperature: 2})));
console.log('client outcomes', res.map(r => r.status === 'fulfilled' ? 'ok' : r.reason.constructor.name).join(','), 'after', (Date.now()-t0)/1000, 's');
let a = await info(); console.log('admitted during client calls:', a.admitted - before.admitted, 'in_use now', a.in_use, 'waiting', a.waiting);
const t1 = Date.now();
while ((a = await info()).in_use > 0 || a.waiting > 0) await new Promise(r => setTimeout(r, 250));
console.log('sessions stayed busy for', (Date.now()-t1)/1000, 's after every client had given up; admitted total', a.admitted - before.admitted);
