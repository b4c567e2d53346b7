// The routing inspector: asks the service for an answer with its routing trace and draws, per MoE
// layer, experts × tokens; a cell's shade is the expert's mixing weight for that token.
'use strict';

const $ = (id) => document.getElementById(id);

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}

async function call(method, path, body) {
  const r = await fetch(path, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error((json.error && json.error.message) || r.status);
  return json;
}

// SGLang's encoding: base64 of little-endian int32 / float32 arrays
function decode(base64, float) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const out = new Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = float ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
  return out;
}

async function loadArms() {
  const info = await call('GET', '/v1/moe/info');
  for (const select of [$('arm-a'), $('arm-b')]) {
    for (const arm of info.adaptations) select.add(new Option(arm, arm));
  }
  $('arm-a').value = info.adaptations.includes('none') ? 'none' : info.adaptations[0];
  document.body.dataset.experts = info.experts;
}

function panel(arm, answer) {
  const t = answer.routing_trace;
  const experts = decode(t.experts, false), weights = decode(t.weights, true);
  const nExperts = Number(document.body.dataset.experts), layers = t.layers.length, k = t.top_k;
  const promptTokens = answer.usage.prompt_tokens;
  const section = document.createElement('section');
  section.className = 'panel';
  section.dataset.arm = arm;
  section.dataset.tokens = t.tokens;
  const title = document.createElement('h2');
  title.textContent = `arm ${answer.arm} (${answer.adaptation}${answer.fallback ? ', fallback ' + answer.fallback.reason : ''})`;
  const text = document.createElement('div');
  text.className = 'answer';
  text.textContent = answer.text;
  section.append(title, text);
  for (let slot = 0; slot < layers; slot++) {
    const h = document.createElement('h3');
    const coverage = t.coverage[slot];
    h.textContent = `layer ${t.layers[slot]}` + (coverage.output_rows_only ? ' (output rows only)' : '') + (coverage.router ? '' : ' (hash-routed)');
    const table = document.createElement('table');
    table.className = 'heatmap';
    table.dataset.layer = t.layers[slot];
    for (let e = 0; e < nExperts; e++) {
      const row = table.insertRow();
      const label = document.createElement('th');
      label.textContent = e;
      row.append(label);
      for (let token = 0; token < t.tokens; token++) {
        const cell = row.insertCell();
        cell.className = 'cell';
        cell.dataset.layer = t.layers[slot];
        cell.dataset.token = t.first_token + token;
        cell.dataset.expert = e;
        if (token === promptTokens - 1) cell.classList.add('answer-start');
        const at = (token * layers + slot) * k;
        if (experts[at] < 0) {
          cell.classList.add('absent');
          continue;
        }
        for (let j = 0; j < k; j++) {
          if (experts[at + j] === e) {
            cell.classList.add('selected');
            cell.dataset.weight = weights[at + j];
            cell.style.background = `rgba(200, 40, 20, ${0.15 + 0.85 * Math.min(1, weights[at + j])})`;
            cell.title = `token ${token}, expert ${e}: weight ${weights[at + j].toFixed(3)}`;
          }
        }
      }
    }
    section.append(h, table);
  }
  return section;
}

async function inspect(event) {
  event.preventDefault();
  document.body.dataset.state = 'loading';
  $('status').className = '';
  $('status').textContent = 'generating…';
  $('panels').replaceChildren();
  try {
    const arms = [$('arm-a').value, $('arm-b').value].filter((a) => a);
    for (const arm of arms) { // one after the other: a service with one session would refuse the second
      const answer = await call('POST', '/v1/moe/generate', {
        prompt: $('prompt').value, max_tokens: Number($('max-tokens').value), arm, routing_trace: {},
      });
      $('panels').append(panel(arm, answer));
    }
    $('status').textContent = '';
    document.body.dataset.state = 'done';
  } catch (e) {
    $('status').className = 'error';
    $('status').textContent = String(e.message || e);
    document.body.dataset.state = 'error';
  }
}

$('query').addEventListener('submit', inspect);
loadArms().catch((e) => {
  $('status').className = 'error';
  $('status').textContent = 'cannot read /v1/moe/info: ' + e.message;
});
