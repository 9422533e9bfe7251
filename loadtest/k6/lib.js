// Shared helpers of the k6 load suite (loadtest/k6/*.js): settings, the seed file, tokens,
// requests, a timeline poller, ULID times, percentile names and the results file.
//
// File formats: the seed file (SEED_FILE, written by timeline-seed) and the results files
// (`${RESULTS_DIR}/${RUN}-<scenario>.json`) are described in loadtest/k6/README.md.
//
// Environment common to every scenario (all optional but SEED_FILE):
//   BASE_URL     default http://127.0.0.1:3000 (a trailing slash is dropped)
//   SEED_FILE    the seed file (required; a relative path is taken from the current directory)
//   RESULTS_DIR  default loadtest/results (relative to the current directory; must exist)
//   RUN          default today's date, YYYY-MM-DD (local time): the results file's prefix
//   MAX_FAILED   default 0.01: the threshold on http_req_failed (rate < MAX_FAILED)
//
// No remote module is imported: everything here is plain k6.

import http from 'k6/http';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { sleep } from 'k6';

export const SEED_VERSION = 1;

// --- settings --------------------------------------------------------------------------------

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const RESULTS_DIR = (__ENV.RESULTS_DIR || 'loadtest/results').replace(/(.)\/+$/, '$1');
export const RUN = __ENV.RUN || localDate(new Date());
export const MAX_FAILED = num('MAX_FAILED', 0.01);

function localDate(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// A numeric setting: NAME from the environment, or `fallback` when unset or empty.
export function num(name, fallback) {
  const text = __ENV[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name}=${text}: expected a number`);
  return value;
}

// A duration setting in seconds: "30s", "2m", "1m30s", "500ms", "1h" or a bare number of seconds.
export function seconds(name, fallback) {
  const text = __ENV[name];
  if (text === undefined || text === '') return fallback;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = text.match(/^((\d+(\.\d+)?)(ms|s|m|h))+$/) ? text.match(/\d+(\.\d+)?(ms|s|m|h)/g) : null;
  if (parts === null) throw new Error(`${name}=${text}: expected a duration such as 30s, 2m or 1m30s`);
  return parts.reduce((sum, p) => {
    const [, n, , u] = p.match(/^(\d+(\.\d+)?)(ms|s|m|h)$/);
    return sum + Number(n) * unit[u];
  }, 0);
}

// A comma-separated list of numbers ("100,200,400").
export function numList(name, fallback) {
  const text = __ENV[name];
  if (text === undefined || text.trim() === '') return fallback;
  return text.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${text}: "${part}" is not a positive number`);
    return value;
  });
}

// A relative path as the user meant it: from the directory k6 was started in (PWD; k6 run passes
// the system environment). open() itself would take it from the script's folder.
function fromCwd(path) {
  if (path.startsWith('/') || !__ENV.PWD) return path;
  return `${__ENV.PWD.replace(/\/+$/, '')}/${path}`;
}

// --- the seed file ---------------------------------------------------------------------------
//
// Read once per test with open() inside SharedArray callbacks (they run once, in the first VU
// that is initialized; the other VUs get the shared copy):
//   - `seed-meta`: one element, {version, graph, roles} (small; each VU parses it once, below);
//   - `seed-users`: every user {id, username, token}, sorted by id (tokens are found by binary
//     search, so a VU never copies the whole list);
//   - `seed-graph-ids`: the ids of the graph users (not readers, not burst users).
//
// k6 initializes the script once with __VU == 0 to read its options (and `k6 inspect` stops
// there); the VUs that run iterations have __VU >= 1. Without SEED_FILE the options pass gets no
// seed (so `k6 inspect script.js` works and options fall back to defaults) and every real VU
// throws, which stops `k6 run` before setup() with the message below.

const SEED_FILE = __ENV.SEED_FILE || '';
let parsedSeed = null;

function readSeed() {
  if (parsedSeed !== null) return parsedSeed;
  const where = `SEED_FILE=${SEED_FILE}`;
  let text;
  try {
    text = open(fromCwd(SEED_FILE));
  } catch (e) {
    throw new Error(`${where}: cannot read it (${e}); write one with timeline-seed --out FILE`);
  }
  let seed;
  try {
    seed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${e.message})`);
  }
  if (seed === null || typeof seed !== 'object' || seed.version !== SEED_VERSION) {
    const found = seed !== null && typeof seed === 'object' ? JSON.stringify(seed.version) : 'no object';
    throw new Error(`${where}: version ${found}, these scripts read version ${SEED_VERSION}; re-run timeline-seed`);
  }
  if (!Array.isArray(seed.users) || seed.roles === null || typeof seed.roles !== 'object') {
    throw new Error(`${where}: no "users" array or no "roles" object`);
  }
  parsedSeed = seed;
  return seed;
}

function loadSeed() {
  if (SEED_FILE === '') {
    if (__VU === 0) return null;
    throw new Error('SEED_FILE is not set: write a seed with timeline-seed --out FILE, then '
      + 'run k6 with -e SEED_FILE=FILE (see loadtest/k6/README.md)');
  }
  const meta = new SharedArray('seed-meta', () => {
    const { version, graph, roles } = readSeed();
    return [{ version, graph, roles }];
  });
  const users = new SharedArray('seed-users', () => readSeed().users
    .map(({ id, username, token }) => ({ id, username, token }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  const graphIds = new SharedArray('seed-graph-ids', () => {
    const seed = readSeed();
    const special = new Set((seed.roles.readers || []).map((r) => r.id));
    for (const b of seed.roles.burst || []) {
      special.add(b.author);
      for (const f of b.followers) special.add(f);
    }
    return seed.users.map((u) => u.id).filter((id) => !special.has(id));
  });
  parsedSeed = null; // the SharedArrays hold it now
  return { meta: meta[0], users, graphIds };
}

const SEED = loadSeed();

// The seed's {version, graph, roles}, or null in the options pass without SEED_FILE.
export const seed = SEED === null ? null : SEED.meta;

// roles[name] of the seed, or `fallback` in the options pass without SEED_FILE.
export function role(name, fallback) {
  return seed === null ? fallback : seed.roles[name];
}

// For setup(): stop the test with a clear message when the seed lacks what a scenario needs.
export function requireRole(name) {
  const value = role(name, null);
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) {
    exec.test.abort(`SEED_FILE=${SEED_FILE} has no roles.${name}: this scenario needs it; re-run timeline-seed`);
  }
  return value;
}

// A random active reader of the seed (roles.readers): {id, followees}.
export function randomReader() {
  const readers = seed.roles.readers;
  return readers[Math.floor(Math.random() * readers.length)];
}

export function randomGraphUser() {
  const ids = SEED.graphIds;
  return ids[Math.floor(Math.random() * ids.length)];
}

const tokenCache = new Map();

// The bearer token of a seeded user (binary search in the sorted SharedArray, cached per VU).
export function tokenOf(userId) {
  let token = tokenCache.get(userId);
  if (token !== undefined) return token;
  const users = SEED.users;
  let lo = 0;
  let hi = users.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const user = users[mid];
    if (user.id === userId) {
      token = user.token;
      break;
    }
    if (user.id < userId) lo = mid + 1;
    else hi = mid - 1;
  }
  if (token === undefined) throw new Error(`user ${userId} is not in SEED_FILE=${SEED_FILE}`);
  tokenCache.set(userId, token);
  return token;
}

// --- requests --------------------------------------------------------------------------------
//
// Every request carries a `name` tag (the route, not the ids), so metrics stay one line per
// route; `tags` adds the caller's own (followees, op, ...).

export function authParams(userId, name, tags = {}) {
  return {
    headers: { Authorization: `Bearer ${tokenOf(userId)}`, 'Content-Type': 'application/json' },
    tags: Object.assign({ name }, tags),
  };
}

export const ROUTE = {
  health: 'GET /health',
  timeline: 'GET /users/{id}/timeline',
  tweets: 'GET /users/{id}/tweets',
  post: 'POST /tweets',
  follow: 'PUT /users/{id}/following/{target}',
  unfollow: 'DELETE /users/{id}/following/{target}',
};

function timelineUrl(userId, limit, cursor) {
  const c = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
  return `${BASE_URL}/users/${encodeURIComponent(userId)}/timeline?limit=${limit}${c}`;
}

// GET /users/{id}/timeline?limit=N (as that user) in the form http.batch takes.
export function timelineRequest(userId, limit = 20, tags = {}, cursor = null) {
  return { method: 'GET', url: timelineUrl(userId, limit, cursor), params: authParams(userId, ROUTE.timeline, tags) };
}

export function getTimeline(userId, limit = 20, tags = {}, cursor = null) {
  return http.get(timelineUrl(userId, limit, cursor), authParams(userId, ROUTE.timeline, tags));
}

// The same read for a client that only counts the answers: k6 keeps no body (`responseType:
// 'none'`), so it does not turn each 6 KB page into a JS string, about 8 µs of k6's CPU per read
// on the two cores it shares with the server (docs/benchmarks.md). The status still counts in
// http_req_failed.
export function readTimeline(userId, limit = 20, tags = {}) {
  const params = authParams(userId, ROUTE.timeline, tags);
  params.responseType = 'none';
  return http.get(timelineUrl(userId, limit, null), params);
}

export function getHealth(tags = {}) {
  return http.get(`${BASE_URL}/health`, { tags: Object.assign({ name: ROUTE.health }, tags) });
}

// POST /tweets as userId; returns {res, tweet} (tweet null unless 201 with a tweet_id).
export function postTweet(userId, text, tags = {}) {
  const res = http.post(`${BASE_URL}/tweets`, JSON.stringify({ text }), authParams(userId, ROUTE.post, tags));
  const body = res.status === 201 ? jsonBody(res) : null;
  const tweet = body !== null && typeof body.tweet_id === 'string' ? body : null;
  return { res, tweet };
}

function followUrl(userId, targetId) {
  return `${BASE_URL}/users/${encodeURIComponent(userId)}/following/${encodeURIComponent(targetId)}`;
}

export function follow(userId, targetId, tags = {}) {
  return http.put(followUrl(userId, targetId), null, authParams(userId, ROUTE.follow, tags));
}

export function unfollow(userId, targetId, tags = {}) {
  return http.del(followUrl(userId, targetId), null, authParams(userId, ROUTE.unfollow, tags));
}

export function jsonBody(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

// The items of a page response, or null when it is not a 200 page.
export function pageItems(res) {
  if (res.status !== 200) return null;
  const page = jsonBody(res);
  return page !== null && Array.isArray(page.items) ? page : null;
}

// IDs of the author's tweets newer than `afterId` (string comparison = time order for ULIDs),
// from the public listing GET /users/{id}/tweets, paging as far as needed.
export function authorTweetsAfter(authorId, afterId, tags = {}) {
  const ids = [];
  let cursor = null;
  for (;;) {
    const c = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const res = http.get(`${BASE_URL}/users/${encodeURIComponent(authorId)}/tweets?limit=100${c}`,
      { tags: Object.assign({ name: ROUTE.tweets }, tags) });
    const page = pageItems(res);
    if (page === null) throw new Error(`GET /users/${authorId}/tweets answered ${res.status}`);
    for (const item of page.items) {
      if (item.tweet_id <= afterId) return ids;
      ids.push(item.tweet_id);
    }
    if (!page.next_cursor) return ids;
    cursor = page.next_cursor;
  }
}

// The author's newest tweet ID, '' when none (every ULID is greater than '').
export function newestTweetId(authorId, tags = {}) {
  const res = http.get(`${BASE_URL}/users/${encodeURIComponent(authorId)}/tweets?limit=1`,
    { tags: Object.assign({ name: ROUTE.tweets }, tags) });
  const page = pageItems(res);
  if (page === null) throw new Error(`GET /users/${authorId}/tweets answered ${res.status}`);
  return page.items.length > 0 ? page.items[0].tweet_id : '';
}

// When a response arrived, in ms since the epoch, for a request sent at `sentAt` (batch members
// arrive at different times; this is closer than the end of the whole batch).
export function arrivedAt(res, sentAt) {
  const t = res.timings;
  return Math.min(Date.now(), sentAt + t.blocked + t.connecting + t.tls_handshaking + t.duration);
}

// --- server checks (setup) --------------------------------------------------------------------

// setup(): abort with a message naming BASE_URL unless GET /health answers 200; with `userId`,
// also abort when that seeded user's token is refused (expired, or another JWT secret).
export function checkServer(userId = null) {
  const res = http.get(`${BASE_URL}/health`, { timeout: '5s', tags: { name: ROUTE.health, phase: 'setup' } });
  if (res.status !== 200) {
    const why = res.status === 0 ? (res.error || 'no answer') : `status ${res.status}`;
    exec.test.abort(`no timeline server at BASE_URL=${BASE_URL} (GET /health: ${why}); `
      + 'start one (make dev) or point BASE_URL at it');
  }
  if (userId !== null) {
    const probe = getTimeline(userId, 1, { phase: 'setup' });
    if (probe.status === 401 || probe.status === 403) {
      exec.test.abort(`BASE_URL=${BASE_URL} refuses the tokens of SEED_FILE=${SEED_FILE} `
        + `(${probe.status} for ${userId}): expired or signed with another secret; re-run timeline-seed`);
    }
  }
}

// setup(): read every reader's first page once, so the measured reads find it cached.
export function warmTimelines(userIds, limit, batchSize = 32) {
  let failed = 0;
  for (let i = 0; i < userIds.length; i += batchSize) {
    const batch = userIds.slice(i, i + batchSize).map((id) => timelineRequest(id, limit, { phase: 'warm' }));
    for (const res of http.batch(batch)) if (res.status !== 200) failed += 1;
  }
  if (failed > 0) exec.test.abort(`warming ${userIds.length} timelines: ${failed} reads failed at BASE_URL=${BASE_URL}`);
}

// setup() of the scenarios that read the active readers' timelines: the server answers, takes
// the seed's tokens, and every reader's timeline is cached before the measurement.
export function setupReaders(limit) {
  const readers = requireRole('readers');
  checkServer(readers[0].id);
  warmTimelines(readers.map((r) => r.id), limit);
  return { readers: readers.length };
}

// --- a timeline poller ------------------------------------------------------------------------

// Polls the first page (`limit` items) of each user's home timeline, all users in one http.batch
// per round and POLL_MS apart, until every one of `tweetIds` is on that user's page, or
// `timeoutMs` passed. Returns {userId: when (ms since the epoch) the last of the ids was first
// seen on that user's page, or null when not within the timeout}.
export function waitForTweets(userIds, tweetIds, { timeoutMs, pollMs = 50, limit = 20, tags = {} }) {
  const seenAt = {};
  const missing = {};
  for (const id of userIds) {
    seenAt[id] = null;
    missing[id] = new Set(tweetIds);
  }
  let pending = userIds.slice();
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0 && Date.now() < deadline) {
    const sentAt = Date.now();
    const responses = http.batch(pending.map((id) => timelineRequest(id, limit, tags)));
    pending.forEach((id, i) => {
      const page = pageItems(responses[i]);
      if (page === null) return;
      for (const item of page.items) missing[id].delete(item.tweet_id);
      if (missing[id].size === 0) seenAt[id] = arrivedAt(responses[i], sentAt);
    });
    pending = pending.filter((id) => seenAt[id] === null);
    if (pending.length > 0) sleepMs(Math.min(pollMs, deadline - Date.now()));
  }
  return seenAt;
}

// The posters of a burst (add to options.scenarios as `posters`): `posts` posts by `vus` VUs,
// back to back, running the script's `post`, cut off after maxS seconds.
export function posterScenario(vus, posts, maxS) {
  return {
    executor: 'shared-iterations',
    exec: 'post',
    vus,
    iterations: posts,
    maxDuration: `${maxS}s`,
    tags: { role: 'poster' },
  };
}

// For a VU that waits on the posters of its test (shared-iterations of `posts`): a test of
// whether they are done (every iteration completed or interrupted in this instance) or `maxS`
// seconds have passed since it was made, when posting is cut off anyway.
export function postingOver(posts, maxS) {
  const startedAt = Date.now();
  return () => {
    const finished = exec.instance.iterationsCompleted + exec.instance.iterationsInterrupted;
    return finished >= posts || Date.now() - startedAt > maxS * 1000;
  };
}

export function sleepMs(ms) {
  if (ms > 0) sleep(ms / 1000);
}

// --- ULIDs -----------------------------------------------------------------------------------

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// The time carried by a ULID: its first 10 Crockford base-32 characters are the milliseconds
// since the epoch (48 bits; exact in a double). The service stamps it when it accepts the post,
// a few ms before the 201 leaves (it equals the tweet's created_at).
export function ulidTime(id) {
  let ms = 0;
  for (let i = 0; i < 10; i += 1) {
    const digit = CROCKFORD.indexOf(id[i]);
    if (digit < 0) throw new Error(`not a canonical ULID: ${id}`);
    ms = ms * 32 + digit;
  }
  return ms;
}

// --- percentiles ------------------------------------------------------------------------------

// The k6 trend statistic of quantile q (0 < q <= 1): 0.5 -> 'med', 1 -> 'max', 0.999 -> 'p(99.9)'.
export function pStat(q) {
  if (q === 0.5) return 'med';
  if (q === 1) return 'max';
  return `p(${Number((q * 100).toFixed(3))})`;
}

// summaryTrendStats covering `quantiles`, plus the ones the results need (count tells an empty
// trend from a zero).
export function trendStats(quantiles = [0.5, 0.95, 0.99]) {
  const stats = ['avg', 'min', 'med', 'max', 'count', 'p(90)', 'p(95)', 'p(99)'];
  for (const q of quantiles) if (!stats.includes(pStat(q))) stats.push(pStat(q));
  return stats;
}

// The quantile q of a list of numbers (nearest rank on the sorted list); null when empty.
export function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

// --- summary data -----------------------------------------------------------------------------

// "metric{tag:value,...}": the name of a submetric, as thresholds and the summary data spell it.
export function sub(metric, tags) {
  const inner = Object.keys(tags).map((k) => `${k}:${tags[k]}`).join(',');
  return `${metric}{${inner}}`;
}

export function round(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// A statistic of a metric in handleSummary's data: trends give null when they have no sample,
// as does a metric the run never produced.
export function stat(data, metric, name) {
  const m = data.metrics[metric];
  if (!m) return null;
  if (m.type === 'trend' && m.values.count === 0) return null;
  const v = m.values[name];
  return v === undefined ? null : v;
}

// How many samples a metric or submetric has (counter count, trend count, rate passes+fails).
export function count(data, metric) {
  const m = data.metrics[metric];
  if (!m) return 0;
  if (m.type === 'rate') return (m.values.passes || 0) + (m.values.fails || 0);
  return m.values.count || 0;
}

function thresholdsOk(data) {
  return Object.values(data.metrics).every((m) => Object.values(m.thresholds || {}).every((t) => t.ok));
}

// The SLO thresholds as strings (what `slo` in the results holds), as k6 spells them:
// {"metric": "p(99)<50", "other": ["rate<0.01", "count>1"]} (a list when a metric has several).
function sloStrings(slo) {
  const out = {};
  for (const [metric, list] of Object.entries(slo)) out[metric] = list.length === 1 ? list[0] : list.slice();
  return out;
}

// options.thresholds: the SLOs (they decide the exit status) plus `probes`, thresholds that always
// pass and are there only so that their submetrics appear in the summary data.
export function thresholds(slo, probes = {}) {
  const all = {};
  for (const [metric, list] of Object.entries(probes)) all[metric] = list.slice();
  for (const [metric, list] of Object.entries(slo)) all[metric] = (all[metric] || []).concat(list);
  return all;
}

// A number for the text summary: 3 significant-ish digits, '-' for none.
export function fmt(x, unit = '') {
  if (x === null || x === undefined) return '-';
  const r = Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
  return `${r}${unit}`;
}

// handleSummary's answer: the results file `${RESULTS_DIR}/${RUN}-${scenario}.json` and a short
// text on stdout (`lines`, then the SLOs with pass/fail). Nothing is written when setup() did not
// finish (server unreachable, bad seed: the error above says why), since there is nothing to report.
export function results(data, scenario, slo, figures, lines) {
  if (data.setup_data === undefined || data.setup_data === null) {
    return { stdout: `\n${scenario}: the test did not run (see the error above); no results written\n` };
  }
  const durationS = data.state.testRunDurationMs / 1000;
  const doc = {
    scenario,
    run: RUN,
    base_url: BASE_URL,
    started_at: new Date(Date.now() - data.state.testRunDurationMs).toISOString(),
    duration_s: round(durationS, 3),
    thresholds_ok: thresholdsOk(data),
    slo: sloStrings(slo),
    figures,
  };
  const path = `${RESULTS_DIR}/${RUN}-${scenario}.json`;
  const text = [`\n${scenario} · run ${RUN} · ${BASE_URL} · ${fmt(durationS, ' s')}`];
  for (const line of lines) text.push(`  ${line}`);
  text.push(`  thresholds: ${doc.thresholds_ok ? 'all passed' : 'SOME FAILED'}`);
  for (const [metric, list] of Object.entries(slo)) {
    for (const expr of list) {
      const t = data.metrics[metric] && data.metrics[metric].thresholds && data.metrics[metric].thresholds[expr];
      text.push(`    ${t && !t.ok ? 'FAIL' : 'ok  '} ${metric} ${expr}`);
    }
  }
  text.push(`  results: ${path}\n`);
  return { stdout: text.join('\n'), [path]: `${JSON.stringify(doc, null, 2)}\n` };
}

// RESULTS_DIR must exist (k6 cannot create folders, and only logs a failed summary write). open()
// works only in the first init (__VU == 0), which finds out; the VUs that run the test throw, so
// `k6 run` stops before setup() while `k6 inspect` (which does not pass PWD) still works.
const resultsDirProblem = new SharedArray('results-dir-check', () => {
  if (!RESULTS_DIR.startsWith('/') && !__ENV.PWD) return [''];
  try {
    open(fromCwd(RESULTS_DIR));
    return [`RESULTS_DIR=${RESULTS_DIR} is a file, not a folder`];
  } catch (e) {
    if (String(e).includes('directories')) return [''];
    return [`RESULTS_DIR=${RESULTS_DIR} does not exist: mkdir -p ${RESULTS_DIR} (${e})`];
  }
})[0];
if (__VU > 0 && resultsDirProblem !== '') throw new Error(resultsDirProblem);
