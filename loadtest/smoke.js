// k6 smoke test of the timeline service: the whole write -> fan-out -> read path, end to end.
//
// Each iteration: two new users A and B, B follows A, A posts a tweet, then B's home timeline
// is polled (up to FANOUT_TIMEOUT_MS) until the tweet shows up. The time from the 201 of the post
// to the tweet's first sighting is the Trend `fanout_visible_ms`.
//
// Tokens are minted here: HS256 JWTs with `sub` and `exp`, signed with the local server's secret
// (docs/API.md, "Authentication"). Each user's id is the `sub` of its token.
//
// Environment (all optional):
//   BASE_URL           default http://127.0.0.1:3000
//   JWT_SECRET         default TIMELINE_JWT_SECRET, else timeline-local-dev-secret
//   VUS                default 5
//   DURATION           default 30s
//   FANOUT_TIMEOUT_MS  default 5000: how long to wait for a tweet to reach a follower
//   FANOUT_P95_MS      default 1000 (the local fan-out target); 0 turns that threshold off
//
// The server must run with TIMELINE_POST_LIMIT=off for long or large runs; every iteration uses
// new users, so the default limit is not reached by the default run.

import http from 'k6/http';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const JWT_SECRET = __ENV.JWT_SECRET || __ENV.TIMELINE_JWT_SECRET || 'timeline-local-dev-secret';
const FANOUT_TIMEOUT_MS = Number(__ENV.FANOUT_TIMEOUT_MS || 5000);
const FANOUT_P95_MS = Number(__ENV.FANOUT_P95_MS || 1000);
// POLL_MS sets the resolution of `fanout_visible_ms` (5 for the lag measurement in docs/benchmarks.md).
const POLL_INTERVAL_S = Number(__ENV.POLL_MS || 50) / 1000;

const fanoutVisible = new Trend('fanout_visible_ms', true);
const fanoutMissed = new Counter('fanout_missed');

const thresholds = {
  http_req_failed: ['rate<0.01'],
  checks: ['rate>0.99'],
};
if (FANOUT_P95_MS > 0) {
  thresholds.fanout_visible_ms = [`p(95)<${FANOUT_P95_MS}`];
}

// ITERATIONS=N runs exactly N iterations (shared by the VUs) instead of for DURATION.
const volume = __ENV.ITERATIONS
  ? { iterations: Number(__ENV.ITERATIONS) }
  : { duration: __ENV.DURATION || '30s' };

export const options = {
  vus: Number(__ENV.VUS || 5),
  ...volume,
  thresholds,
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'max'],
};

// --- tokens ----------------------------------------------------------------------------------

function b64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

// HS256 JWT: base64url(header).base64url(payload).base64url(HMAC-SHA256 of the first two).
export function mintToken(sub, ttlSeconds = 3600) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + ttlSeconds }));
  const signature = crypto.hmac('sha256', JWT_SECRET, `${header}.${payload}`, 'base64rawurl');
  return `${header}.${payload}.${signature}`;
}

// --- helpers ---------------------------------------------------------------------------------

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(length) {
  const bytes = new Uint8Array(crypto.randomBytes(length));
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

// A fresh user id (the token's `sub`), shaped like the UUIDs Cognito issues.
function newUserId() {
  const hex = crypto.sha256(`${exec.vu.idInTest}-${Date.now()}-${randomAlnum(16)}`, 'hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// `name` tags each request by route rather than by the ids in its path, so the summary and the
// metrics stay one line per route.
function jsonParams(token, name, extraHeaders = {}) {
  return {
    headers: Object.assign(
      { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${token}` },
      extraHeaders,
    ),
    tags: { name },
  };
}

function jsonBody(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

// POST /users for a new id; the username is 1-15 chars of [A-Za-z0-9_]: "k6" + role + 11 random.
function createUser(role) {
  const userId = newUserId();
  const token = mintToken(userId);
  const username = `k6${role}_${randomAlnum(10)}`; // 14 characters
  const res = http.post(`${BASE_URL}/users`, JSON.stringify({ username, display_name: `k6 ${role}` }),
    jsonParams(token, 'POST /users'));
  const body = jsonBody(res);
  const ok = check(res, {
    'create user: 201': (r) => r.status === 201,
    'create user: user_id is the token sub': () => body !== null && body.user_id === userId,
  });
  return ok ? { userId, token, username } : null;
}

// --- the scenario ----------------------------------------------------------------------------

export function setup() {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: 'GET /health' } });
  if (res.status !== 200) {
    exec.test.abort(`GET ${BASE_URL}/health answered ${res.status}: is the server running (make dev)?`);
  }
}

export default function () {
  const author = createUser('a');
  const reader = createUser('b');
  if (author === null || reader === null) return;

  const follow = http.put(`${BASE_URL}/users/${reader.userId}/following/${author.userId}`, null,
    jsonParams(reader.token, 'PUT /users/{id}/following/{target}'));
  if (!check(follow, { 'follow: 204': (r) => r.status === 204 })) return;

  const text = `k6 smoke ${randomAlnum(12)} at ${new Date().toISOString()}`;
  const post = http.post(`${BASE_URL}/tweets`, JSON.stringify({ text }),
    jsonParams(author.token, 'POST /tweets', { 'Idempotency-Key': randomAlnum(24) }));
  const tweet = jsonBody(post);
  if (!check(post, {
    'post tweet: 201': (r) => r.status === 201,
    'post tweet: has tweet_id': () => tweet !== null && typeof tweet.tweet_id === 'string',
  })) return;
  const postedAt = Date.now();

  // Poll the follower's home timeline, bounded in time, until the tweet is there.
  let seenAt = null;
  while (Date.now() - postedAt < FANOUT_TIMEOUT_MS) {
    const res = http.get(`${BASE_URL}/users/${reader.userId}/timeline?limit=20`,
      jsonParams(reader.token, 'GET /users/{id}/timeline'));
    const page = jsonBody(res);
    if (res.status === 200 && page !== null && Array.isArray(page.items)
      && page.items.some((item) => item.tweet_id === tweet.tweet_id)) {
      seenAt = Date.now();
      break;
    }
    if (res.status !== 200) break; // counted by http_req_failed; no point hammering
    sleep(POLL_INTERVAL_S);
  }
  const visible = seenAt !== null;
  if (visible) {
    fanoutVisible.add(seenAt - postedAt);
  } else {
    fanoutMissed.add(1);
  }
  check(null, { [`fan-out: tweet in follower's timeline within ${FANOUT_TIMEOUT_MS} ms`]: () => visible });
}
