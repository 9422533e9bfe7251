// Fan-out scenario: how long one tweet takes to reach an author's followers, per follower count.
//
// For each author of roles.fanout_authors (one per target follower count, e.g. 100, 1000 and
// 10000 followers), smallest first and one at a time (a single VU; the next author starts
// FANOUT_PAUSE_S after the previous one is done, so fan-outs never overlap): the author posts one
// tweet, then the first pages (limit LIMIT) of all its `sample` followers are polled together
// (one http.batch per round, POLL_MS apart) until each has the tweet, or FANOUT_TIMEOUT_S after the
// 201.
//
// setup() reads every sampled follower's timeline once, as active readers' timelines are cached:
// the figures then time the fan-out, not the cache rebuild a first read would pay.
//
// Figures per author, measured from the 201 (k6's clock when the answer arrived) to the arrival of
// the page showing the tweet:
//   first_ms  the first sampled follower to see it;
//   all_ms    the last one;
//   (a follower that did not see it within FANOUT_TIMEOUT_S counts as seeing it when the wait
//   ended: first_ms or all_ms is then the time waited, a lower bound, and missed > 0 says so)
//   sampled   how many followers were polled; missed: how many of them did not see it in time.
// The values reach handleSummary as metrics tagged author=<id> (fanout_first_ms, fanout_all_ms,
// fanout_sampled, fanout_missed), one sample each.
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   FANOUT_TIMEOUT_S  default 60: how long to wait for every sampled follower
//   FANOUT_PAUSE_S    default 2: pause between two authors
//   POLL_MS           default 50: pause between two polling rounds
//   LIMIT             default 20: page size of the polls

import { Counter, Trend } from 'k6/metrics';
import {
  MAX_FAILED, checkServer, count, fmt, num, postTweet, requireRole, results, role, round, RUN, seconds,
  sleepMs, stat, sub, thresholds, trendStats, waitForTweets, warmTimelines,
} from './lib.js';

const FANOUT_TIMEOUT_S = seconds('FANOUT_TIMEOUT_S', 60);
const FANOUT_PAUSE_S = seconds('FANOUT_PAUSE_S', 2);
const POLL_MS = num('POLL_MS', 50);
const LIMIT = num('LIMIT', 20);

const firstMs = new Trend('fanout_first_ms', true);
const allMs = new Trend('fanout_all_ms', true);
const sampled = new Counter('fanout_sampled');
const missed = new Counter('fanout_missed');

const AUTHORS = role('fanout_authors', [])
  .slice()
  .sort((a, b) => a.followers - b.followers);

const slo = {
  http_req_failed: [`rate<${MAX_FAILED}`],
  fanout_missed: ['count<1'],
};
const probes = {};
for (const a of AUTHORS) {
  probes[sub('fanout_first_ms', { author: a.id })] = ['max>=0'];
  probes[sub('fanout_all_ms', { author: a.id })] = ['max>=0'];
  probes[sub('fanout_sampled', { author: a.id })] = ['count>=0'];
  probes[sub('fanout_missed', { author: a.id })] = ['count>=0'];
}

export const options = {
  scenarios: {
    fanout: {
      executor: 'per-vu-iterations',
      exec: 'fanout',
      vus: 1,
      iterations: 1,
      maxDuration: `${Math.ceil(Math.max(AUTHORS.length, 3) * (FANOUT_TIMEOUT_S + FANOUT_PAUSE_S + 30))}s`,
    },
  },
  thresholds: thresholds(slo, probes),
  summaryTrendStats: trendStats(),
  // one batch polls every sampled follower at once
  batch: 100,
  batchPerHost: 100,
};

export function setup() {
  const authors = requireRole('fanout_authors');
  checkServer(authors[0].id);
  warmTimelines(authors.flatMap((a) => a.sample || []), LIMIT);
  return { authors: authors.length };
}

export function fanout() {
  AUTHORS.forEach((author, i) => {
    if (i > 0) sleepMs(FANOUT_PAUSE_S * 1000);
    const tags = { author: author.id };
    const sample = author.sample || [];
    sampled.add(sample.length, tags);
    if (sample.length === 0) {
      missed.add(0, tags);
      return; // nobody to watch (the seed sampled no follower)
    }
    const { tweet } = postTweet(author.id, `fanout ${RUN} to ${author.followers} followers`, tags);
    const postedAt = Date.now();
    if (tweet === null) {
      missed.add(sample.length, tags);
      return; // no figures for this author: the results file will lack first_ms and all_ms
    }
    const seenAt = waitForTweets(sample, [tweet.tweet_id],
      { timeoutMs: FANOUT_TIMEOUT_S * 1000, pollMs: POLL_MS, limit: LIMIT, tags });
    const waited = Date.now() - postedAt;
    const times = sample.map((id) => seenAt[id]).filter((t) => t !== null).map((t) => Math.max(0, t - postedAt));
    missed.add(sample.length - times.length, tags);
    // Not seen in time: the time waited stands in (a lower bound), and `missed` says so.
    firstMs.add(times.length > 0 ? Math.min(...times) : waited, tags);
    allMs.add(times.length === sample.length ? Math.max(...times) : waited, tags);
  });
}

export function handleSummary(data) {
  const figures = {
    authors: AUTHORS.map((a) => ({
      followers: a.followers,
      sampled: count(data, sub('fanout_sampled', { author: a.id })),
      first_ms: round(stat(data, sub('fanout_first_ms', { author: a.id }), 'max')),
      all_ms: round(stat(data, sub('fanout_all_ms', { author: a.id }), 'max')),
      missed: count(data, sub('fanout_missed', { author: a.id })),
    })),
  };
  const lines = [
    `one post per author, sampled followers polled every ${POLL_MS} ms, timeout ${fmt(FANOUT_TIMEOUT_S, ' s')}`,
    'followers  sampled   first_ms     all_ms  missed',
    ...figures.authors.map((a) => `${String(a.followers).padStart(9)}  ${String(a.sampled).padStart(7)}  `
      + `${fmt(a.first_ms, ' ms').padStart(9)}  ${fmt(a.all_ms, ' ms').padStart(9)}  ${String(a.missed).padStart(6)}`),
  ];
  return results(data, 'fanout', slo, figures, lines);
}
