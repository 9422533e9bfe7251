// Burst scenario: POSTS posts as fast as the API takes them, and how long the fan-out takes to
// catch up.
//
// Two scenarios start together:
//   posters   shared-iterations: POSTS posts by VUS VUs, back to back; post i is written by burst
//             author i mod (number of burst authors) (roles.burst, round robin);
//   watchers  watchers.js: WATCHERS VUs poll the burst followers' home timelines (limit 100) and
//             record each new tweet's lag (ULID time -> page arrival), until every follower saw all
//             its author's posts or WATCH_TIMEOUT_S after the end of posting (unseen ones: missed).
// Posting is over when the instance has completed POSTS iterations (watchers complete theirs only
// after that), or POST_MAX_S after the start when posting is cut off.
//
// Figures:
//   posts      posts answered 201;
//   post_rate  posts / (last 201 - first 201), from the Trend burst_201_wall (Date.now() at each 201);
//   lag_*      lag_ms of watchers.js (ms from the tweet's ULID time, the server's acceptance time a
//              few ms before its 201, to the arrival of the first page showing it);
//   lag_quantiles  q = 0.01 ... 1 from summaryTrendStats percentiles of lag_ms;
//   write_*    the posts' own write, acceptance to 201 (part of lag_*);
//   after_201_*  lag_after_201_ms of watchers.js: from a probe's 201 (watchers post one every
//              PROBE_EVERY rounds while posting lasts) to the page showing it;
//   drain_ms   last sighting - last 201 (max of lag_seen_wall - max of burst_201_wall);
//   missed     (follower, tweet) pairs not seen within WATCH_TIMEOUT_S after posting ended.
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   POSTS            default 1000
//   VUS              default 16: posting VUs
//   POST_MAX_S       default 300: posting is cut off after this long
//   WATCHERS         default 4;  POLL_MS default 50;  WATCH_TIMEOUT_S default 30 (watchers.js)
//   LAG_P99_MS       default 0: when > 0, a threshold on lag_ms p(99)
//   PROBE_EVERY      default 4: a watcher's polling rounds between two probes (0: none)

import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  MAX_FAILED, fmt, num, postingOver, posterScenario, postTweet, results, role, round, RUN,
  seconds, stat, thresholds, trendStats, pStat, ulidTime,
} from './lib.js';
import { WATCH_TIMEOUT_S, watch, watcherScenario, setupBurst } from './watchers.js';

const POSTS = num('POSTS', 1000);
const VUS = num('VUS', 16);
const POST_MAX_S = seconds('POST_MAX_S', 300);
const LAG_P99_MS = num('LAG_P99_MS', 0);
const PROBE_EVERY = num('PROBE_EVERY', 4);
const QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

const posts = new Counter('burst_posts');
const wall201 = new Trend('burst_201_wall', false);
// From the tweet's acceptance (its ULID time, where lag_ms starts) to its 201: the post's own
// write, which lag_ms includes. A post whose 201 is late is late in every timeline too.
const writeMs = new Trend('burst_write_ms', true);

const slo = {
  http_req_failed: [`rate<${MAX_FAILED}`],
  lag_missed: ['count<1'],
};
if (LAG_P99_MS > 0) slo.lag_ms = [`p(99)<${LAG_P99_MS}`];

export const options = {
  scenarios: {
    posters: posterScenario(VUS, POSTS, POST_MAX_S),
    watchers: watcherScenario('watcher', POST_MAX_S + WATCH_TIMEOUT_S + 60),
  },
  thresholds: thresholds(slo),
  summaryTrendStats: trendStats(QUANTILES),
  batch: 100,
  batchPerHost: 100,
  setupTimeout: __ENV.SETUP_TIMEOUT || '120s',
};

const BURST = role('burst', []);

export function setup() {
  return { ...setupBurst(), startedAt: Date.now() };
}

export function post() {
  const i = exec.scenario.iterationInTest;
  const author = BURST[i % BURST.length].author;
  const { tweet } = postTweet(author, `burst ${RUN} #${i}`);
  if (tweet !== null) {
    const at = Date.now();
    wall201.add(at);
    writeMs.add(at - ulidTime(tweet.tweet_id));
    posts.add(1);
  }
}

export function watcher(data) {
  watch(data.cutoffs, postingOver(POSTS, POST_MAX_S), PROBE_EVERY);
}

export function handleSummary(data) {
  const n = stat(data, 'burst_posts', 'count') || 0;
  const first201 = stat(data, 'burst_201_wall', 'min');
  const last201 = stat(data, 'burst_201_wall', 'max');
  const lastSeen = stat(data, 'lag_seen_wall', 'max');
  const figures = {
    posts: n,
    post_rate: n >= 2 && last201 > first201 ? round(n / ((last201 - first201) / 1000), 1) : null,
    lag_p50_ms: round(stat(data, 'lag_ms', 'med')),
    lag_p99_ms: round(stat(data, 'lag_ms', 'p(99)')),
    lag_max_ms: round(stat(data, 'lag_ms', 'max')),
    write_p99_ms: round(stat(data, 'burst_write_ms', 'p(99)')),
    probes: stat(data, 'lag_probes', 'count') || 0,
    after_201_p99_ms: round(stat(data, 'lag_after_201_ms', 'p(99)')),
    after_201_max_ms: round(stat(data, 'lag_after_201_ms', 'max')),
    write_max_ms: round(stat(data, 'burst_write_ms', 'max')),
    drain_ms: lastSeen !== null && last201 !== null ? round(lastSeen - last201) : null,
    missed: stat(data, 'lag_missed', 'count') || 0,
    lag_quantiles: stat(data, 'lag_ms', 'count') === null ? []
      : QUANTILES.map((q) => ({ q, ms: round(stat(data, 'lag_ms', pStat(q))) })),
  };
  const lines = [
    `${figures.posts} of ${POSTS} posts by ${BURST.length} authors, ${VUS} VUs: ${fmt(figures.post_rate, ' posts/s')}`,
    `lag  p50 ${fmt(figures.lag_p50_ms, ' ms')}  p99 ${fmt(figures.lag_p99_ms, ' ms')}  max ${fmt(figures.lag_max_ms, ' ms')}`,
    `of which the post's own write (acceptance to 201): p99 ${fmt(figures.write_p99_ms, ' ms')}  max ${fmt(figures.write_max_ms, ' ms')}`,
    `from the 201, ${figures.probes} probes: p99 ${fmt(figures.after_201_p99_ms, ' ms')}  max ${fmt(figures.after_201_max_ms, ' ms')}`,
    `drain ${fmt(figures.drain_ms, ' ms')} (last sighting - last 201)   missed ${figures.missed}`,
    `lag quantiles: ${figures.lag_quantiles.map((x) => `${x.q}:${fmt(x.ms)}`).join(' ')}`,
  ];
  return results(data, 'burst', slo, figures, lines);
}
