// Cap scenario: POSTS posts by one author as fast as the API takes them, and how long until each
// of its followers' home timelines holds exactly the author's newest CAP tweets (TIMELINE_CAP,
// 800: the service keeps a timeline's newest 800 entries and trims the rest).
//
// The author is the LAST of the seed's roles.burst (the burst scenario spreads its posts over
// every burst author and lag posts as all of them, so theirs barely change), with that entry's
// dedicated followers, who follow no one else: their timelines hold only this author's tweets.
// setup() notes the author's newest CAP tweets before the run (the newest one is the cut-off:
// every tweet with a greater ID, ULIDs comparing as strings in time order, was posted during the
// run) and reads each follower's timeline once, so it is cached as an active reader's is: the
// fan-out then adds to the cached list and trims it, whatever ran before.
//
// Two scenarios start together:
//   posters  shared-iterations: POSTS posts by VUS VUs, back to back, all by that author;
//   checker  one VU. Once posting is over (the instance has completed POSTS iterations: the
//            checker completes its own only after that, or POST_MAX_S after the start when
//            posting is cut off), it reads from the public listing GET /users/{author}/tweets
//            which tweets were stored during the run (201 received or not), and expects the
//            newest CAP of them, newest first (with fewer than CAP, the newest tweets from before
//            the run fill the rest). Then every POLL_MS it reads each follower's whole home
//            timeline (pages of 100, following next_cursor; the followers in one http.batch per
//            page), until every one is exactly that list (the same IDs in the same order and
//            nothing else), or WATCH_TIMEOUT_S after the end of posting.
//
// Figures:
//   posts           posts answered 201;
//   post_rate       posts / (last 201 - first 201), from the Trend cap_201_wall (Date.now() at each 201);
//   cap             CAP, the length expected;
//   followers       the author's followers checked;
//   exact           followers whose timeline was exact in the last full read;
//   settled_ms      when every timeline was exact (the arrival of the last page of the first full
//                   read in which all were: an upper bound) - last 201; null when never;
//   first_check_ms  the end of the first full read after posting - last 201: the earliest
//                   settled_ms this checker can see (its resolution; reading the listing comes first).
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   POSTS            default 820
//   VUS              default 16: posting VUs
//   CAP              default 800: the service's TIMELINE_CAP
//   POST_MAX_S       default 300: posting is cut off after this long
//   POLL_MS          default 50: pause between two full reads
//   WATCH_TIMEOUT_S  default 30: how long after the end of posting the checker waits

import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import {
  MAX_FAILED, authorTweetsAfter, checkServer, fmt, num, pageItems, postingOver, posterScenario,
  postTweet, requireRole, results, role, round, RUN, seconds, sleepMs, stat, thresholds,
  timelineRequest, trendStats, warmTimelines,
} from './lib.js';

const POSTS = num('POSTS', 820);
const VUS = num('VUS', 16);
const CAP = num('CAP', 800);
const POST_MAX_S = seconds('POST_MAX_S', 300);
const POLL_MS = num('POLL_MS', 50);
const WATCH_TIMEOUT_S = seconds('WATCH_TIMEOUT_S', 30);
const PAGE = 100;

const BURST = role('burst', []);
// The options pass without SEED_FILE has no author: the thresholds then expect no follower.
const TARGET = BURST.length > 0 ? BURST[BURST.length - 1] : { author: '', followers: [] };

const posts = new Counter('cap_posts');
const wall201 = new Trend('cap_201_wall', false);
const firstCheckWall = new Trend('cap_first_check_wall', false);
const exactWall = new Trend('cap_exact_wall', false);
const exactFollowers = new Counter('cap_exact');

// cap_exact counts the followers exact at the end; a checker that never got there adds nothing,
// so this fails then too.
const slo = {
  http_req_failed: [`rate<${MAX_FAILED}`],
  cap_exact: [`count>=${TARGET.followers.length}`],
};

export const options = {
  scenarios: {
    posters: posterScenario(VUS, POSTS, POST_MAX_S),
    checker: {
      executor: 'per-vu-iterations',
      exec: 'checker',
      vus: 1,
      iterations: 1,
      // above posting + WATCH_TIMEOUT_S, so that the loop ends by itself and counts the inexact
      maxDuration: `${Math.ceil(POST_MAX_S + WATCH_TIMEOUT_S + 60)}s`,
      gracefulStop: '5s',
      tags: { role: 'checker' },
    },
  },
  thresholds: thresholds(slo),
  summaryTrendStats: trendStats(),
  batch: 100,
  batchPerHost: 100,
  setupTimeout: __ENV.SETUP_TIMEOUT || '120s',
};

export function setup() {
  requireRole('burst');
  checkServer(TARGET.author);
  const tags = { phase: 'setup' };
  const before = newest(authorTweetsAfter(TARGET.author, '', tags));
  warmTimelines(TARGET.followers, PAGE);
  return { before };
}

export function post() {
  const i = exec.scenario.iterationInTest;
  const { tweet } = postTweet(TARGET.author, `cap ${RUN} #${i}`);
  if (tweet !== null) {
    wall201.add(Date.now());
    posts.add(1);
  }
}

export function checker(data) {
  const over = postingOver(POSTS, POST_MAX_S);
  while (!over()) sleepMs(POLL_MS);
  const doneAt = Date.now();
  const tags = { role: 'checker' };
  const cutoff = data.before.length > 0 ? data.before[0] : '';
  const expected = newest(authorTweetsAfter(TARGET.author, cutoff, tags).concat(data.before));

  let exact = 0;
  for (let reads = 0; ; reads += 1) {
    const timelines = readTimelines(TARGET.followers, tags);
    const at = Date.now();
    if (reads === 0) firstCheckWall.add(at);
    exact = timelines.filter((ids) => sameList(ids, expected)).length;
    if (exact === TARGET.followers.length) {
      exactWall.add(at);
      break;
    }
    if (at - doneAt > WATCH_TIMEOUT_S * 1000) break;
    sleepMs(POLL_MS);
  }
  exactFollowers.add(exact);
}

// The newest CAP of a list of tweet IDs, newest first.
function newest(ids) {
  return ids.slice().sort().reverse().slice(0, CAP);
}

// Each user's whole home timeline as tweet IDs, newest first (null when a page failed): every
// user's next page in one http.batch. A timeline longer than CAP is not exact however it ends,
// so it is read no further than that.
function readTimelines(userIds, tags) {
  const timelines = userIds.map(() => []);
  let pending = userIds.map((_, k) => ({ k, cursor: null }));
  while (pending.length > 0) {
    const responses = http.batch(pending.map((p) => timelineRequest(userIds[p.k], PAGE, tags, p.cursor)));
    const next = [];
    pending.forEach((p, i) => {
      const page = pageItems(responses[i]);
      if (page === null) {
        timelines[p.k] = null;
        return;
      }
      for (const item of page.items) timelines[p.k].push(item.tweet_id);
      if (page.next_cursor && timelines[p.k].length <= CAP) next.push({ k: p.k, cursor: page.next_cursor });
    });
    pending = next;
  }
  return timelines;
}

function sameList(ids, expected) {
  return ids !== null && ids.length === expected.length && ids.every((id, i) => id === expected[i]);
}

export function handleSummary(data) {
  const n = stat(data, 'cap_posts', 'count') || 0;
  const first201 = stat(data, 'cap_201_wall', 'min');
  const last201 = stat(data, 'cap_201_wall', 'max');
  const since201 = (wall) => (wall !== null && last201 !== null ? round(wall - last201) : null);
  const figures = {
    posts: n,
    post_rate: n >= 2 && last201 > first201 ? round(n / ((last201 - first201) / 1000), 1) : null,
    cap: CAP,
    followers: TARGET.followers.length,
    exact: stat(data, 'cap_exact', 'count') || 0,
    settled_ms: since201(stat(data, 'cap_exact_wall', 'max')),
    first_check_ms: since201(stat(data, 'cap_first_check_wall', 'min')),
  };
  const lines = [
    `${figures.posts} of ${POSTS} posts by ${TARGET.author}, ${VUS} VUs: ${fmt(figures.post_rate, ' posts/s')}`,
    `${figures.exact} of ${figures.followers} followers hold exactly the newest ${CAP}: `
      + `settled ${fmt(figures.settled_ms, ' ms')} after the last 201 `
      + `(first full read ${fmt(figures.first_check_ms, ' ms')})`,
  ];
  return results(data, 'cap', slo, figures, lines);
}
