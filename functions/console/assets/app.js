// Logbook's console: plain ES module, no build step. Every API call is signed here with the
// user's Logbook key (aws4fetch, vendored) and sent to this origin's `POST /`, the same signed API
// every SDK uses. Log messages are attacker-controlled: everything is rendered with DOM text
// nodes (`el`, `textContent`), never parsed as HTML; the page's CSP enforces it.
import { AwsClient } from './vendor/aws4fetch.esm.mjs';

const $ = (sel) => document.querySelector(sel);
const LOGS = 'Logs_20140328.';
const TRAIL = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';
const SESSION_KEY = 'logbook.console.credentials';

// ---------------------------------------------------------------------------------------------
// DOM helpers: elements from tag, attributes and children; strings become text nodes.

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function show(...nodes) {
  const view = $('#view');
  view.replaceChildren(...nodes);
}

// ---------------------------------------------------------------------------------------------
// Credentials and signed calls.

let credentials = null; // { accessKeyId, secretAccessKey, region }
let clockSkew = 0; // server time − local time, ms, from the Date header (SigV4 allows ±15 min)

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function call(service, target, body) {
  const client = new AwsClient({
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    region: credentials.region,
    service,
    retries: 0,
  });
  const datetime = new Date(Date.now() + clockSkew).toISOString().replace(/[:-]|\.\d{3}/g, '');
  const response = await client.fetch(`${location.origin}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body: JSON.stringify(body ?? {}),
    aws: { service, region: credentials.region, datetime },
  });
  const date = response.headers.get('date');
  if (date) clockSkew = Date.parse(date) - Date.now();
  const text = await response.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { message: text }; }
  if (!response.ok) {
    const code = String(json.__type ?? response.headers.get('x-amzn-errortype') ?? `HTTP ${response.status}`).split('#').pop();
    throw new ApiError(code, json.message ?? json.Message ?? text, response.status);
  }
  return json;
}

const logs = (op, body) => call('logs', LOGS + op, body);
const trail = (op, body) => call('cloudtrail', TRAIL + op, body);

function errorText(e) {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e?.message ?? e);
}

// ---------------------------------------------------------------------------------------------
// Routing: the view and its parameters live in the location hash (#/events/app?range=1h&…).

function route() {
  const hash = location.hash.replace(/^#/, '') || '/groups';
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

function href(parts, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const s = q.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${s ? `?${s}` : ''}`;
}

function go(parts, params) {
  location.hash = href(parts, params);
}

let stopCurrent = () => {};

async function render() {
  stopCurrent();
  stopCurrent = () => {};
  if (!credentials) {
    $('#nav').hidden = true;
    $('#sign-in-view').hidden = false;
    show();
    return;
  }
  $('#sign-in-view').hidden = true;
  $('#nav').hidden = false;
  $('#who').textContent = `${credentials.accessKeyId} · ${credentials.region}`;
  const { parts, params } = route();
  try {
    switch (parts[0]) {
      case 'group': return await streamsView(parts[1], params);
      case 'events': return await eventsView(parts[1], params);
      case 'tail': return tailView(parts[1], params);
      case 'filters': return await filtersView(parts[1], params);
      case 'audit': return await auditView(params);
      default: return await groupsView(params);
    }
  } catch (e) {
    show(el('p', { class: 'error', role: 'alert', text: errorText(e) }));
  }
}

// ---------------------------------------------------------------------------------------------
// Sign in.

async function signIn(event) {
  event.preventDefault();
  const c = {
    accessKeyId: $('#access-key').value.trim(),
    secretAccessKey: $('#secret-key').value,
    region: $('#region').value.trim(),
  };
  $('#sign-in-error').textContent = '';
  if (!c.accessKeyId || !c.secretAccessKey || !c.region) {
    $('#sign-in-error').textContent = 'Access key ID, secret access key and region are all needed.';
    return;
  }
  credentials = c;
  try {
    await logs('DescribeLogGroups', { limit: 1 }); // proves the key before showing anything
  } catch (e) {
    credentials = null;
    $('#sign-in-error').textContent = errorText(e);
    return;
  }
  if ($('#remember').checked) sessionStorage.setItem(SESSION_KEY, JSON.stringify(c));
  $('#secret-key').value = '';
  render();
}

function signOut() {
  credentials = null;
  sessionStorage.removeItem(SESSION_KEY);
  render();
}

// ---------------------------------------------------------------------------------------------
// Formatting.

let utc = true;

function fmtTime(ms) {
  if (ms === undefined || ms === null) return '';
  const d = new Date(ms);
  if (utc) return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fmtBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${units[i]}`;
}

const RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function retentionText(days) {
  return days ? `${days} day${days === 1 ? '' : 's'}` : 'Never expire';
}

// ---------------------------------------------------------------------------------------------
// Log groups.

async function groupsView(params) {
  const prefix = params.get('prefix') ?? '';
  const status = el('p', { class: 'error', role: 'alert' });
  const body = el('tbody');
  const table = el('table', { id: 'log-groups' },
    el('thead', {}, el('tr', {}, ['Name', 'Retention', 'Stored bytes', 'Metric filters', 'Created', ''].map((h) => el('th', { text: h })))),
    body);
  const search = el('input', { id: 'group-prefix', type: 'search', placeholder: 'Filter by name prefix', value: prefix, 'aria-label': 'Log group name prefix', class: 'grow' });
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(['groups'], { prefix: search.value }); });
  const newName = el('input', { id: 'new-group', placeholder: 'New log group name', 'aria-label': 'New log group name' });
  const create = el('button', { id: 'create-group', type: 'button', class: 'primary' }, 'Create log group');
  create.addEventListener('click', async () => {
    try {
      await logs('CreateLogGroup', { logGroupName: newName.value.trim() });
      newName.value = '';
      await load();
    } catch (e) { status.textContent = errorText(e); }
  });
  let token = null;
  const more = el('button', { id: 'more-groups', type: 'button', hidden: true }, 'Load more');
  more.addEventListener('click', () => load(true));

  async function load(append = false) {
    status.textContent = '';
    const out = await logs('DescribeLogGroups', { logGroupNamePrefix: prefix || undefined, limit: 50, nextToken: append ? token : undefined });
    if (!append) body.replaceChildren();
    for (const g of out.logGroups ?? []) body.append(groupRow(g, status, load));
    token = out.nextToken ?? null;
    more.hidden = !token;
    if (!body.children.length) body.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No log groups.' })));
  }
  show(el('h1', { text: 'Log groups' }),
    el('div', { class: 'toolbar' }, search, newName, create),
    status, table, more);
  await load();
}

function groupRow(g, status, reload) {
  const retention = el('select', { class: 'retention-select', 'aria-label': `Retention of ${g.logGroupName}` },
    el('option', { value: '', text: 'Never expire' }),
    RETENTIONS.map((d) => el('option', { value: d, text: retentionText(d) })));
  retention.value = g.retentionInDays ? String(g.retentionInDays) : '';
  retention.addEventListener('change', async () => {
    try {
      if (retention.value) await logs('PutRetentionPolicy', { logGroupName: g.logGroupName, retentionInDays: Number(retention.value) });
      else await logs('DeleteRetentionPolicy', { logGroupName: g.logGroupName });
      status.textContent = '';
    } catch (e) { status.textContent = errorText(e); }
  });
  const del = el('button', { type: 'button', class: 'danger delete-group' }, 'Delete');
  const cell = el('td', {}, del);
  del.addEventListener('click', () => {
    const yes = el('button', { type: 'button', class: 'danger confirm-delete' }, `Delete ${g.logGroupName} and all its events`);
    const no = el('button', { type: 'button' }, 'Cancel');
    yes.addEventListener('click', async () => {
      try { await logs('DeleteLogGroup', { logGroupName: g.logGroupName }); await reload(); } catch (e) { status.textContent = errorText(e); }
    });
    no.addEventListener('click', () => cell.replaceChildren(del));
    cell.replaceChildren(yes, ' ', no);
    no.focus();
  });
  return el('tr', { 'data-group': g.logGroupName },
    el('td', {}, el('a', { href: href(['group', g.logGroupName]), text: g.logGroupName })),
    el('td', { class: 'retention' }, el('span', { class: 'retention-text', text: retentionText(g.retentionInDays) }), ' ', retention),
    el('td', { class: 'num', text: fmtBytes(g.storedBytes) }),
    el('td', { class: 'num' }, el('a', { href: href(['filters', g.logGroupName]), text: String(g.metricFilterCount ?? 0) })),
    el('td', { text: fmtTime(g.creationTime) }),
    cell);
}

// ---------------------------------------------------------------------------------------------
// Log streams of a group, by last event.

async function streamsView(group, params) {
  const prefix = params.get('prefix') ?? '';
  const body = el('tbody');
  const search = el('input', { id: 'stream-prefix', type: 'search', placeholder: 'Filter by stream name prefix', value: prefix, 'aria-label': 'Log stream name prefix', class: 'grow' });
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(['group', group], { prefix: search.value }); });
  // AWS refuses a prefix with orderBy LastEventTime: a prefix search is by name.
  const request = prefix
    ? { logGroupName: group, logStreamNamePrefix: prefix, limit: 50 }
    : { logGroupName: group, orderBy: 'LastEventTime', descending: true, limit: 50 };
  const out = await logs('DescribeLogStreams', request);
  for (const s of out.logStreams ?? []) {
    body.append(el('tr', { 'data-stream': s.logStreamName },
      el('td', {}, el('a', { href: href(['events', group], { stream: s.logStreamName }), text: s.logStreamName })),
      el('td', { text: fmtTime(s.lastEventTimestamp) }),
      el('td', { text: fmtTime(s.firstEventTimestamp) }),
      el('td', { text: fmtTime(s.creationTime) })));
  }
  if (!body.children.length) body.append(el('tr', {}, el('td', { colspan: 4, class: 'muted', text: 'No log streams.' })));
  show(el('h1', {}, el('a', { href: '#/groups', text: 'Log groups' }), ' / ', group),
    el('div', { class: 'toolbar' }, search,
      el('a', { id: 'search-group', href: href(['events', group]) }, 'Search all streams'),
      el('a', { id: 'tail-group', href: href(['tail', group]) }, 'Live tail'),
      el('a', { href: href(['filters', group]) }, 'Metric filters')),
    el('table', { id: 'log-streams' },
      el('thead', {}, el('tr', {}, ['Log stream', 'Last event', 'First event', 'Created'].map((h) => el('th', { text: h })))),
      body));
}

// ---------------------------------------------------------------------------------------------
// Events: one stream (GetLogEvents) or the whole group (FilterLogEvents).

const RANGES = [['5m', 5 * 60e3], ['15m', 15 * 60e3], ['1h', 3600e3], ['3h', 3 * 3600e3], ['12h', 12 * 3600e3], ['1d', 86400e3], ['1w', 7 * 86400e3]];
const RANGE_LABELS = { '5m': 'Last 5 minutes', '15m': 'Last 15 minutes', '1h': 'Last hour', '3h': 'Last 3 hours', '12h': 'Last 12 hours', '1d': 'Last day', '1w': 'Last week', abs: 'Absolute…' };

function window_(params) {
  const range = params.get('range') ?? '1h';
  if (range === 'abs') {
    const from = Date.parse(params.get('from') ?? '');
    const to = Date.parse(params.get('to') ?? '');
    if (!Number.isNaN(from) && !Number.isNaN(to)) return [from, to];
  }
  const ms = (RANGES.find(([k]) => k === range) ?? RANGES[2])[1];
  const now = Date.now() + clockSkew;
  return [now - ms, now];
}

function messageCell(message, terms = []) {
  const td = el('td', { class: 'message' });
  td.append(highlighted(message, terms));
  const trimmed = message.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed;
    try { parsed = JSON.parse(trimmed); } catch { parsed = undefined; }
    if (parsed !== undefined) {
      const pre = el('pre', { hidden: true, class: 'json', text: JSON.stringify(parsed, null, 2) });
      const toggle = el('button', { type: 'button', class: 'expand', 'aria-expanded': 'false', title: 'Show as formatted JSON' }, '{ }');
      toggle.addEventListener('click', () => {
        pre.hidden = !pre.hidden;
        toggle.setAttribute('aria-expanded', String(!pre.hidden));
      });
      td.prepend(toggle, ' ');
      td.append(pre);
    }
  }
  return td;
}

/// Plain words of a filter pattern, for highlighting: quoted and bare terms of the term syntax
/// (not JSON or space-delimited patterns, nor excluded `-terms`).
function patternTerms(pattern) {
  const p = (pattern ?? '').trim();
  if (!p || p.startsWith('{') || p.startsWith('[') || p.startsWith('%')) return [];
  const terms = [];
  for (const m of p.matchAll(/"([^"]+)"|(\S+)/g)) {
    let t = m[1] ?? m[2];
    if (t.startsWith('-')) continue;
    if (t.startsWith('?')) t = t.slice(1);
    if (t) terms.push(t);
  }
  return terms.slice(0, 5);
}

/// The message as text nodes, each occurrence of a term in a <mark>.
function highlighted(message, terms) {
  const frag = document.createDocumentFragment();
  if (!terms.length) { frag.append(document.createTextNode(message)); return frag; }
  const lower = message.toLowerCase();
  let at = 0;
  while (at < message.length) {
    let best = -1; let len = 0;
    for (const t of terms) {
      const i = lower.indexOf(t.toLowerCase(), at);
      if (i >= 0 && (best < 0 || i < best)) { best = i; len = t.length; }
    }
    if (best < 0) break;
    if (best > at) frag.append(document.createTextNode(message.slice(at, best)));
    frag.append(el('mark', { text: message.slice(best, best + len) }));
    at = best + len;
  }
  if (at < message.length) frag.append(document.createTextNode(message.slice(at)));
  return frag;
}

function histogram(events, from, to) {
  const bins = 60;
  const counts = new Array(bins).fill(0);
  const span = Math.max(1, to - from);
  for (const e of events) {
    const i = Math.floor(((e.timestamp - from) / span) * bins);
    if (i >= 0 && i < bins) counts[i] += 1;
  }
  const max = Math.max(1, ...counts);
  const chart = svg('svg', { class: 'histogram', id: 'histogram', viewBox: `0 0 ${bins * 10} 70`, preserveAspectRatio: 'none', role: 'img' });
  chart.setAttribute('aria-label', `Events per ${Math.round(span / bins / 1000)} s over the shown range: ${events.length} in all`);
  counts.forEach((c, i) => {
    if (!c) return;
    const h = (c / max) * 66;
    const bar = svg('rect', { x: i * 10 + 1, y: 70 - h, width: 8, height: h, 'data-count': c });
    const title = svg('title');
    title.textContent = `${fmtTime(from + (i * span) / bins)}: ${c} event${c === 1 ? '' : 's'}`;
    bar.append(title);
    chart.append(bar);
  });
  return chart;
}

async function eventsView(group, params) {
  const stream = params.get('stream') ?? '';
  const pattern = params.get('pattern') ?? '';
  utc = params.get('tz') !== 'local';
  const wrap = params.get('wrap') === '1';
  const [from, to] = window_(params);
  const state = Object.fromEntries(params.entries());
  const set = (changes) => go(['events', group], { ...state, ...changes });

  const patternBox = el('input', { id: 'filter-pattern', type: 'search', class: 'grow', value: pattern, placeholder: 'Filter pattern: terms, "phrases", { $.json = … }, [space, delimited]', 'aria-label': 'Filter pattern' });
  patternBox.addEventListener('keydown', (e) => { if (e.key === 'Enter') set({ pattern: patternBox.value }); });
  const range = el('select', { id: 'range', 'aria-label': 'Time range' }, Object.entries(RANGE_LABELS).map(([k, v]) => el('option', { value: k, text: v })));
  range.value = params.get('range') ?? '1h';
  const absFrom = el('input', { id: 'abs-from', type: 'datetime-local', step: 1, 'aria-label': 'From', hidden: range.value !== 'abs' });
  const absTo = el('input', { id: 'abs-to', type: 'datetime-local', step: 1, 'aria-label': 'To', hidden: range.value !== 'abs' });
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 19);
  absFrom.value = local(from); absTo.value = local(to);
  range.addEventListener('change', () => {
    if (range.value === 'abs') { absFrom.hidden = false; absTo.hidden = false; return; }
    set({ range: range.value, from: '', to: '' });
  });
  const applyAbs = () => set({ range: 'abs', from: new Date(absFrom.value).toISOString(), to: new Date(absTo.value).toISOString() });
  absFrom.addEventListener('change', applyAbs); absTo.addEventListener('change', applyAbs);
  const tz = el('button', { id: 'tz', type: 'button', 'aria-pressed': String(!utc) }, utc ? 'UTC' : 'Local time');
  tz.addEventListener('click', () => set({ tz: utc ? 'local' : '' }));
  const wrapBtn = el('button', { id: 'wrap', type: 'button', 'aria-pressed': String(wrap) }, wrap ? 'Wrap: on' : 'Wrap: off');
  wrapBtn.addEventListener('click', () => set({ wrap: wrap ? '' : '1' }));

  const error = el('p', { id: 'pattern-error', class: 'error', role: 'alert' });
  const body = el('tbody');
  const table = el('table', { id: 'events', class: `events${wrap ? ' wrap' : ''}` },
    el('thead', {}, el('tr', {}, ['Time', stream ? null : 'Stream', 'Message'].filter(Boolean).map((h) => el('th', { text: h })))),
    body);
  const chartHolder = el('div');
  const older = el('button', { id: 'load-older', type: 'button' }, 'Load older');
  const newer = el('button', { id: 'load-newer', type: 'button' }, 'Load newer');
  const count = el('span', { class: 'status', id: 'event-count' });
  const shown = [];
  const terms = patternTerms(pattern);

  const row = (e) => el('tr', { 'data-event': e.eventId ?? '' },
    el('td', { class: 'time', text: fmtTime(e.timestamp) }),
    stream ? null : el('td', { text: e.logStreamName ?? '' }),
    messageCell(e.message ?? '', terms));

  function add(events, atStart) {
    const rows = events.map(row);
    if (atStart) { body.prepend(...rows); shown.unshift(...events); } else { body.append(...rows); shown.push(...events); }
    const times = shown.map((e) => e.timestamp);
    const lo = Math.min(from, ...times); const hi = Math.max(to, ...times);
    chartHolder.replaceChildren(histogram(shown, lo, hi));
    count.textContent = `${shown.length} event${shown.length === 1 ? '' : 's'}`;
  }

  show(el('h1', {}, el('a', { href: '#/groups', text: 'Log groups' }), ' / ', el('a', { href: href(['group', group]), text: group }), stream ? ` / ${stream}` : ' / all streams'),
    el('div', { class: 'toolbar' }, patternBox, range, absFrom, absTo, tz, wrapBtn,
      el('a', { href: href(['tail', group], { stream, pattern }) }, 'Live tail')),
    error, chartHolder, el('div', { class: 'toolbar' }, older, count), table, el('div', { class: 'toolbar' }, newer));

  if (stream && !pattern) {
    // One stream: GetLogEvents' own forward and backward tokens.
    let back = null; let fwd = null;
    const page = async (token, startFromHead) => logs('GetLogEvents', { logGroupName: group, logStreamName: stream, startTime: from, endTime: to + 1, limit: 500, nextToken: token ?? undefined, startFromHead });
    const first = await page(null, false);
    add(first.events ?? [], false);
    back = first.nextBackwardToken; fwd = first.nextForwardToken;
    older.addEventListener('click', async () => {
      const r = await page(back); back = r.nextBackwardToken;
      if (!(r.events ?? []).length) older.disabled = true; else add(r.events, true);
    });
    newer.addEventListener('click', async () => {
      const r = await page(fwd); fwd = r.nextForwardToken;
      if ((r.events ?? []).length) add(r.events, false);
    });
    return;
  }
  // A group (or a stream with a pattern): FilterLogEvents, oldest first; older = the window before.
  let token = null; let windowStart = from;
  const base = { logGroupName: group, filterPattern: pattern || undefined, logStreamNames: stream ? [stream] : undefined, limit: 500 };
  const fetchWindow = async (start, end, nextToken) => {
    // A bounded scan may answer an empty page with a token: follow a few at once.
    let events = []; let t = nextToken; let pages = 0;
    do {
      const r = await logs('FilterLogEvents', { ...base, startTime: start, endTime: end, nextToken: t ?? undefined });
      events = events.concat(r.events ?? []); t = r.nextToken ?? null; pages += 1;
    } while (t && events.length < 500 && pages < 10);
    return { events, token: t };
  };
  try {
    const r = await fetchWindow(from, to, null);
    add(r.events, false); token = r.token;
  } catch (e) {
    error.textContent = errorText(e); // a bad pattern: the parser's message, inline
    return;
  }
  newer.disabled = !token;
  newer.addEventListener('click', async () => {
    const r = await fetchWindow(from, to, token); token = r.token; add(r.events, false); newer.disabled = !token;
  });
  older.addEventListener('click', async () => {
    const span = to - from; const end = windowStart - 1; windowStart -= span;
    const r = await fetchWindow(windowStart, end, null); add(r.events, true);
  });
}

// ---------------------------------------------------------------------------------------------
// Live tail: FilterLogEvents about once a second over [cursor − overlap, now], de-duplicated by
// event id, so late events are not lost and none shows twice.

const TAIL_OVERLAP = 10_000;
const TAIL_MAX_ROWS = 5_000;

function tailView(group, params) {
  const stream = params.get('stream') ?? '';
  const pattern = params.get('pattern') ?? '';
  const terms = patternTerms(pattern);
  let cursor = Date.now() + clockSkew - 60_000;
  const seen = new Map(); // eventId → timestamp
  let paused = false; let timer = null; let stopped = false; let failures = 0;
  const body = el('tbody');
  const box = el('div', { class: 'tail' }, el('table', { id: 'tail', class: 'events wrap' }, body));
  const status = el('span', { id: 'tail-status', class: 'status' }, 'Starting…');
  const error = el('p', { class: 'error', role: 'alert' });
  const pause = el('button', { id: 'tail-pause', type: 'button' }, 'Pause');
  const auto = el('input', { id: 'tail-autoscroll', type: 'checkbox', checked: true });
  const patternBox = el('input', { id: 'tail-pattern', type: 'search', class: 'grow', value: pattern, placeholder: 'Filter pattern', 'aria-label': 'Filter pattern' });
  patternBox.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(['tail', group], { stream, pattern: patternBox.value }); });
  const clear = el('button', { type: 'button' }, 'Clear');
  clear.addEventListener('click', () => body.replaceChildren());
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    status.textContent = paused ? 'Paused' : 'Resuming…';
    if (!paused) schedule(0);
  });

  function insert(e) {
    const tr = el('tr', { 'data-event': e.eventId, 'data-ts': e.timestamp },
      el('td', { class: 'time', text: fmtTime(e.timestamp) }),
      stream ? null : el('td', { text: e.logStreamName ?? '' }),
      messageCell(e.message ?? '', terms));
    // Late events go to their place in time order.
    let before = null;
    for (let r = body.lastElementChild; r; r = r.previousElementSibling) {
      if (Number(r.dataset.ts) <= e.timestamp) break;
      before = r;
    }
    body.insertBefore(tr, before);
    while (body.children.length > TAIL_MAX_ROWS) body.firstElementChild.remove();
  }

  async function tick() {
    timer = null;
    if (stopped || paused) return;
    if (document.hidden) { status.textContent = 'Paused while the tab is hidden'; return; }
    try {
      let token = null; let pages = 0; let newest = cursor; let added = 0;
      do {
        const r = await logs('FilterLogEvents', {
          logGroupName: group, logStreamNames: stream ? [stream] : undefined, filterPattern: pattern || undefined,
          startTime: cursor - TAIL_OVERLAP, limit: 1000, nextToken: token ?? undefined,
        });
        for (const e of r.events ?? []) {
          newest = Math.max(newest, e.timestamp);
          if (seen.has(e.eventId)) continue;
          seen.set(e.eventId, e.timestamp);
          insert(e); added += 1;
        }
        token = r.nextToken ?? null; pages += 1;
      } while (token && pages < 10 && !stopped);
      if (!token) {
        cursor = Math.max(cursor, newest);
        for (const [id, ts] of seen) if (ts < cursor - TAIL_OVERLAP) seen.delete(id);
      }
      failures = 0; error.textContent = '';
      status.textContent = `Tailing · ${body.children.length} shown · last poll ${fmtTime(Date.now() + clockSkew)}`;
      if (added && auto.checked) box.scrollTop = box.scrollHeight;
      schedule(1000);
    } catch (e) {
      const retryable = !(e instanceof ApiError) || e.status >= 500 || /Throttl|TooManyRequests|LimitExceeded/.test(e.code);
      if (!retryable) { error.textContent = errorText(e); status.textContent = 'Stopped'; return; }
      failures += 1;
      const wait = Math.random() * Math.min(30_000, 500 * 2 ** failures); // full jitter
      status.textContent = `Backing off ${Math.round(wait)} ms (${errorText(e)})`;
      schedule(wait);
    }
  }
  function schedule(ms) { if (!stopped && !timer) timer = setTimeout(tick, ms); }
  const onVisible = () => { if (!document.hidden && !paused) schedule(0); };
  document.addEventListener('visibilitychange', onVisible);
  stopCurrent = () => { stopped = true; clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); };

  show(el('h1', {}, el('a', { href: '#/groups', text: 'Log groups' }), ' / ', el('a', { href: href(['group', group]), text: group }), ` / live tail${stream ? ` of ${stream}` : ''}`),
    el('div', { class: 'toolbar' }, patternBox, pause, clear, el('label', {}, auto, ' Auto-scroll'), status),
    error, box);
  schedule(0);
}

// ---------------------------------------------------------------------------------------------
// Metric filters and the pattern tester.

async function filtersView(group) {
  const out = await logs('DescribeMetricFilters', { logGroupName: group });
  const patternBox = el('input', { id: 'test-pattern', class: 'grow', 'aria-label': 'Filter pattern to test', placeholder: 'Filter pattern' });
  const lines = el('textarea', { id: 'test-lines', 'aria-label': 'Log lines to test, one per line', placeholder: 'One log event per line' });
  const results = el('tbody');
  const error = el('p', { class: 'error', role: 'alert', id: 'test-error' });
  const body = el('tbody');
  for (const f of out.metricFilters ?? []) {
    const use = el('button', { type: 'button', class: 'use-filter' }, 'Test this pattern');
    use.addEventListener('click', () => { patternBox.value = f.filterPattern; patternBox.focus(); });
    const t = (f.metricTransformations ?? [])[0] ?? {};
    body.append(el('tr', {}, el('td', { text: f.filterName }), el('td', { class: 'message', text: f.filterPattern }),
      el('td', { text: `${t.metricNamespace ?? ''}/${t.metricName ?? ''} = ${t.metricValue ?? ''}` }), el('td', {}, use)));
  }
  if (!body.children.length) body.append(el('tr', {}, el('td', { colspan: 4, class: 'muted', text: 'No metric filters.' })));
  const recent = el('button', { id: 'use-recent', type: 'button' }, "Use the group's recent events");
  recent.addEventListener('click', async () => {
    try {
      const r = await logs('FilterLogEvents', { logGroupName: group, startTime: Date.now() + clockSkew - 3600e3, limit: 50 });
      lines.value = (r.events ?? []).map((e) => e.message).join('\n');
    } catch (e) { error.textContent = errorText(e); }
  });
  const test = el('button', { id: 'run-test', type: 'button', class: 'primary' }, 'Test pattern');
  test.addEventListener('click', async () => {
    error.textContent = '';
    results.replaceChildren();
    try {
      const messages = lines.value.split('\n').filter((l) => l.length);
      const r = await logs('TestMetricFilter', { filterPattern: patternBox.value, logEventMessages: messages });
      for (const m of r.matches ?? []) {
        const values = Object.entries(m.extractedValues ?? {}).map(([k, v]) => `${k} = ${v}`).join(', ');
        results.append(el('tr', { class: 'match' }, el('td', { class: 'num', text: String(m.eventNumber) }),
          el('td', { class: 'message', text: m.eventMessage ?? '' }), el('td', { class: 'values', text: values })));
      }
      if (!results.children.length) results.append(el('tr', {}, el('td', { colspan: 3, class: 'muted', text: 'No line matches.' })));
    } catch (e) { error.textContent = errorText(e); }
  });
  show(el('h1', {}, el('a', { href: '#/groups', text: 'Log groups' }), ' / ', el('a', { href: href(['group', group]), text: group }), ' / metric filters'),
    el('table', { id: 'metric-filters' }, el('thead', {}, el('tr', {}, ['Filter', 'Pattern', 'Metric', ''].map((h) => el('th', { text: h })))), body),
    el('h2', { text: 'Test a pattern' }),
    el('div', { class: 'toolbar' }, patternBox, recent, test), lines, error,
    el('table', { id: 'test-results', class: 'events' }, el('thead', {}, el('tr', {}, ['Line', 'Message', 'Extracted values'].map((h) => el('th', { text: h })))), results));
}

// ---------------------------------------------------------------------------------------------
// Audit history: LookupEvents.

const ATTRIBUTES = ['EventName', 'Username', 'ResourceName', 'ResourceType', 'EventSource', 'ReadOnly', 'AccessKeyId', 'EventId'];

async function auditView(params) {
  const attr = params.get('attr') ?? 'EventName';
  const value = params.get('value') ?? '';
  const range = params.get('range') ?? '1d';
  const [from, to] = window_(new URLSearchParams({ range }));
  const attrSel = el('select', { id: 'audit-attr', 'aria-label': 'Lookup attribute' }, ATTRIBUTES.map((a) => el('option', { value: a, text: a })));
  attrSel.value = attr;
  const valueBox = el('input', { id: 'audit-value', class: 'grow', value, placeholder: 'Attribute value (empty: every event)', 'aria-label': 'Attribute value' });
  const rangeSel = el('select', { id: 'audit-range', 'aria-label': 'Time range' }, RANGES.map(([k]) => el('option', { value: k, text: RANGE_LABELS[k] })));
  rangeSel.value = range;
  const apply = () => go(['audit'], { attr: attrSel.value, value: valueBox.value, range: rangeSel.value });
  valueBox.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  const search = el('button', { id: 'audit-search', type: 'button', class: 'primary' }, 'Search');
  search.addEventListener('click', apply);
  const body = el('tbody');
  const error = el('p', { class: 'error', role: 'alert' });
  let token = null;
  const more = el('button', { id: 'audit-more', type: 'button', hidden: true }, 'Load more');
  async function load() {
    const request = { StartTime: Math.floor(from / 1000), EndTime: Math.ceil(to / 1000), MaxResults: 50, NextToken: token ?? undefined };
    if (value) request.LookupAttributes = [{ AttributeKey: attr, AttributeValue: value }];
    const r = await trail('LookupEvents', request);
    for (const e of r.Events ?? []) {
      const record = el('pre', { hidden: true, class: 'json' });
      try { record.textContent = JSON.stringify(JSON.parse(e.CloudTrailEvent), null, 2); } catch { record.textContent = e.CloudTrailEvent ?? ''; }
      const toggle = el('button', { type: 'button', class: 'expand', 'aria-expanded': 'false', title: 'Show the CloudTrail record' }, '▸');
      toggle.addEventListener('click', () => { record.hidden = !record.hidden; toggle.setAttribute('aria-expanded', String(!record.hidden)); toggle.textContent = record.hidden ? '▸' : '▾'; });
      const resources = (e.Resources ?? []).map((x) => x.ResourceName).join(', ');
      body.append(el('tr', { class: 'audit-row' },
        el('td', { class: 'time' }, toggle, ' ', fmtTime(e.EventTime * 1000)),
        el('td', { text: e.EventName }), el('td', { text: e.Username ?? '' }),
        el('td', {}, resources, record)));
    }
    token = r.NextToken ?? null;
    more.hidden = !token;
  }
  more.addEventListener('click', () => load().catch((e) => { error.textContent = errorText(e); }));
  show(el('h1', { text: 'Audit history' }),
    el('div', { class: 'toolbar' }, attrSel, valueBox, rangeSel, search), error,
    el('table', { id: 'audit', class: 'events wrap' }, el('thead', {}, el('tr', {}, ['Time', 'Event name', 'User', 'Resources'].map((h) => el('th', { text: h })))), body),
    more);
  try { await load(); } catch (e) { error.textContent = errorText(e); }
  if (!body.children.length && !error.textContent) body.append(el('tr', {}, el('td', { colspan: 4, class: 'muted', text: 'No events in this range.' })));
}

// ---------------------------------------------------------------------------------------------
// Start.

async function start() {
  $('#sign-in-form').addEventListener('submit', signIn);
  $('#sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', render);
  if (!window.isSecureContext || !crypto?.subtle) $('#insecure').hidden = false;
  let region = 'us-east-1';
  try { region = (await (await fetch('/console/config.json')).json()).region ?? region; } catch { /* keep the default */ }
  $('#region').value = region;
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved) { try { credentials = JSON.parse(saved); } catch { sessionStorage.removeItem(SESSION_KEY); } }
  document.addEventListener('keydown', (e) => {
    // "/" focuses the view's search box, as in AWS's console.
    if (e.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName)) {
      const box = document.querySelector('#view input[type=search]');
      if (box) { e.preventDefault(); box.focus(); }
    }
  });
  render();
}

start();
