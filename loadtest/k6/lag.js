// Lag scenario: the fan-out lag under steady posting.
//
// Two scenarios start together:
//   posters   constant-arrival-rate: RATE posts per second for DURATION, post i by burst author
//             i mod (number of burst authors) (roles.burst, round robin);
//   watchers  watchers.js (the same code as burst.js): WATCHERS VUs poll the burst followers' home
//             timelines and record each new tweet's lag, until every follower saw all its author's
//             posts or WATCH_TIMEOUT_S after the end of posting (unseen ones: missed).
// Posting is over DURATION plus the posters' gracefulStop (POST_GRACE_S) after the start: by then
// every post has been answered or cut off.
//
// Figures: rate = RATE (the offered rate); posts = posts answered 201; lag_* from lag_ms of
// watchers.js (ms from the tweet's ULID time, the server's acceptance time a few ms before its 201,
// to the arrival of the first page showing it); missed = (follower, tweet) pairs not seen in time.
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   RATE          default 10 (posts/s)
//   DURATION      default 60s
//   LAG_P99_MS    default 1000: threshold on lag_ms p(99)
//   PRE_VUS       default 5;  MAX_VUS default 50 (posting VUs)
//   WATCHERS      default 4;  POLL_MS default 50;  WATCH_TIMEOUT_S default 30 (watchers.js)

import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  MAX_FAILED, fmt, num, postTweet, results, role, round, RUN, seconds, stat, thresholds,
  trendStats,
} from './lib.js';
import { WATCH_TIMEOUT_S, watch, watcherScenario, setupBurst } from './watchers.js';

const RATE = num('RATE', 10);
const DURATION_S = seconds('DURATION', 60);
const LAG_P99_MS = num('LAG_P99_MS', 1000);
const PRE_VUS = num('PRE_VUS', 5);
const MAX_VUS = Math.max(PRE_VUS, num('MAX_VUS', 50));
const POST_GRACE_S = 3;

const posts = new Counter('lag_posts');

const slo = {
  http_req_failed: [`rate<${MAX_FAILED}`],
  lag_ms: [`p(99)<${LAG_P99_MS}`],
  lag_missed: ['count<1'],
};

export const options = {
  scenarios: {
    posters: {
      executor: 'constant-arrival-rate',
      exec: 'post',
      rate: RATE,
      timeUnit: '1s',
      duration: `${DURATION_S}s`,
      preAllocatedVUs: PRE_VUS,
      maxVUs: MAX_VUS,
      gracefulStop: `${POST_GRACE_S}s`,
      tags: { role: 'poster' },
    },
    watchers: watcherScenario('watcher', DURATION_S + POST_GRACE_S + WATCH_TIMEOUT_S + 60),
  },
  thresholds: thresholds(slo),
  summaryTrendStats: trendStats([0.5, 0.95, 0.99]),
  batch: 100,
  batchPerHost: 100,
  setupTimeout: __ENV.SETUP_TIMEOUT || '120s',
};

const BURST = role('burst', []);

export function setup() {
  return setupBurst();
}

export function post() {
  const i = exec.scenario.iterationInTest;
  const author = BURST[i % BURST.length].author;
  if (postTweet(author, `lag ${RUN} #${i}`).tweet !== null) posts.add(1);
}

export function watcher(data) {
  const endOfPosting = Date.now() + (DURATION_S + POST_GRACE_S) * 1000;
  watch(data.cutoffs, () => Date.now() >= endOfPosting);
}

export function handleSummary(data) {
  const figures = {
    rate: RATE,
    posts: stat(data, 'lag_posts', 'count') || 0,
    lag_p50_ms: round(stat(data, 'lag_ms', 'med')),
    lag_p95_ms: round(stat(data, 'lag_ms', 'p(95)')),
    lag_p99_ms: round(stat(data, 'lag_ms', 'p(99)')),
    lag_max_ms: round(stat(data, 'lag_ms', 'max')),
    missed: stat(data, 'lag_missed', 'count') || 0,
  };
  const lines = [
    `${figures.posts} posts at ${RATE}/s for ${fmt(DURATION_S, ' s')} by ${BURST.length} authors`,
    `lag  p50 ${fmt(figures.lag_p50_ms, ' ms')}  p95 ${fmt(figures.lag_p95_ms, ' ms')}  `
      + `p99 ${fmt(figures.lag_p99_ms, ' ms')}  max ${fmt(figures.lag_max_ms, ' ms')}   missed ${figures.missed}`,
  ];
  return results(data, 'lag', slo, figures, lines);
}
