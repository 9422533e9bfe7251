// Watchers of the burst followers' home timelines, shared by burst.js and lag.js.
//
// The seed's roles.burst lists dedicated authors, each with a few dedicated followers who follow
// no one else, so a burst follower's home timeline holds only its author's tweets. setup() notes
// each burst author's newest tweet ID (`cutoffs`); every tweet of that author with a greater ID
// (ULIDs compare as strings in time order) was posted during the run.
//
// The watcher VUs (a scenario of per-vu-iterations, one iteration each) split the followers
// between them (follower k goes to watcher k mod WATCHERS). Each round, a watcher reads the first
// page (limit 100) of each of its followers still waiting, in one http.batch, then sleeps POLL_MS.
// A page made only of new tweets may hide more below it: the watcher then follows next_cursor
// until it reaches a tweet from before the run (new tweets all sit above the old ones).
//
// For every tweet newly seen by a follower it records:
//   lag_ms         = when the page carrying it arrived - the time in its tweet_id (the ULID's
//                    first 10 characters, ms since the epoch: the server's acceptance time, equal
//                    to created_at, a few ms before the 201). The server and k6 share one clock
//                    here; against a remote server, clock skew adds to it. The resolution is
//                    about POLL_MS plus one round.
//   lag_seen_wall  = that arrival time (ms since the epoch); its max is the last sighting.
//   lag_sightings  + 1.
//
// Stopping: once posting is over (the scenario's `postingDone()`, lib.js `postingOver`), a watcher reads from the public
// listing GET /users/{author}/tweets which of its authors' tweets are newer than the cutoff:
// exactly what was stored, whether or not its 201 reached k6. It stops when each of its followers
// has seen all of them, or WATCH_TIMEOUT_S after the end of posting; each (follower, tweet) not seen
// by then adds 1 to lag_missed.

import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import {
  arrivedAt, authorTweetsAfter, getTimeline, newestTweetId, num, pageItems, postTweet, role, seconds,
  sleepMs, timelineRequest, ulidTime, checkServer, requireRole,
} from './lib.js';

export const WATCHERS = num('WATCHERS', 4);
export const POLL_MS = num('POLL_MS', 50);
export const WATCH_TIMEOUT_S = seconds('WATCH_TIMEOUT_S', 30);
const PAGE = 100;

export const lagMs = new Trend('lag_ms', true);
export const seenWall = new Trend('lag_seen_wall', false);
export const sightings = new Counter('lag_sightings');
export const missed = new Counter('lag_missed');
// Probes: a watcher that probes posts a tweet of its own now and then while posting lasts, by
// one of its followers' authors, and knows that post's 201: lag_after_201_ms is the time from
// that 201 to the page showing the probe to each of its followers (lag_ms starts earlier, at
// acceptance, so it also holds the post's own write).
export const after201Ms = new Trend('lag_after_201_ms', true);
export const probesPosted = new Counter('lag_probes');

// roles.burst as (follower, author) pairs, in seed order.
export function burstPairs() {
  const pairs = [];
  for (const b of role('burst', [])) for (const f of b.followers) pairs.push({ follower: f, author: b.author });
  return pairs;
}

// For setup(): {author: its newest tweet ID before the run ('' when none)}.
export function burstCutoffs() {
  const cutoffs = {};
  for (const b of role('burst', [])) cutoffs[b.author] = newestTweetId(b.author, { phase: 'setup' });
  return cutoffs;
}

// The watcher scenario (add to options.scenarios): WATCHERS VUs, one long iteration each, running
// `exec`, cut off after maxDurationS (keep it above posting + WATCH_TIMEOUT_S, so that the loop
// ends by itself and counts the missed ones).
// setup() of the scenarios that watch the burst followers: the server answers and takes the
// seed's tokens; the cut-offs say which tweets each follower must see.
export function setupBurst() {
  const burst = requireRole('burst');
  checkServer(burst[0].author);
  return { cutoffs: burstCutoffs() };
}

export function watcherScenario(execName, maxDurationS) {
  return {
    executor: 'per-vu-iterations',
    exec: execName,
    vus: WATCHERS,
    iterations: 1,
    maxDuration: `${Math.ceil(maxDurationS)}s`,
    gracefulStop: '5s',
    tags: { role: 'watcher' },
  };
}

// One watcher's loop (call it from the scenario's exec function). `postingDone()` says whether
// posting is over; with `probeEvery` > 0 the watcher posts a probe every that many rounds
// until then.
export function watch(cutoffs, postingDone, probeEvery = 0) {
  const index = exec.scenario.iterationInTest;
  const mine = burstPairs()
    .filter((_, k) => k % WATCHERS === index)
    .map((p) => ({ follower: p.follower, author: p.author, cutoff: cutoffs[p.author], seen: new Set() }));
  if (mine.length === 0) return;

  let doneAt = null;
  let rounds = 0;
  const probes = new Map(); // probe tweet ID -> when its 201 arrived
  let expected = null; // author -> Set of the tweet IDs posted during the run
  const complete = (w) => expected !== null && [...expected.get(w.author)].every((id) => w.seen.has(id));

  for (;;) {
    const waiting = mine.filter((w) => !complete(w));
    if (waiting.length === 0) break;
    if (doneAt !== null && Date.now() - doneAt > WATCH_TIMEOUT_S * 1000) break;
    pollRound(waiting, probes);
    rounds += 1;
    if (doneAt === null && probeEvery > 0 && rounds % probeEvery === 0) {
      probe(mine[rounds % mine.length], probes);
    }
    if (doneAt === null && postingDone()) {
      doneAt = Date.now();
      expected = new Map();
      for (const w of mine) {
        if (!expected.has(w.author)) {
          expected.set(w.author, new Set(authorTweetsAfter(w.author, w.cutoff, { role: 'watcher' })));
        }
      }
    }
    sleepMs(POLL_MS);
  }

  for (const w of mine) {
    let n = 0;
    if (expected !== null) for (const id of expected.get(w.author)) if (!w.seen.has(id)) n += 1;
    missed.add(n);
  }
}

// Post a probe by `w`'s author and note when its 201 arrived.
function probe(w, probes) {
  const { tweet } = postTweet(w.author, `probe ${probes.size}`, { role: 'watcher' });
  if (tweet === null) return;
  probes.set(tweet.tweet_id, Date.now());
  probesPosted.add(1);
}

function pollRound(waiting, probes) {
  const tags = { role: 'watcher' };
  const sentAt = Date.now();
  const responses = http.batch(waiting.map((w) => timelineRequest(w.follower, PAGE, tags)));
  waiting.forEach((w, i) => {
    let page = pageItems(responses[i]);
    let at = arrivedAt(responses[i], sentAt);
    while (page !== null && record(w, page.items, at, probes) && page.next_cursor) {
      // the whole page was new: more new tweets may sit below it
      const res = getTimeline(w.follower, PAGE, tags, page.next_cursor);
      page = pageItems(res);
      at = Date.now();
    }
  });
}

// Records the new sightings of one page; true when every item on it is from the run.
function record(w, items, at, probes) {
  let allNew = items.length > 0;
  for (const item of items) {
    if (item.author_id !== w.author || item.tweet_id <= w.cutoff) {
      allNew = false;
      continue;
    }
    if (w.seen.has(item.tweet_id)) continue;
    w.seen.add(item.tweet_id);
    lagMs.add(at - ulidTime(item.tweet_id));
    if (probes.has(item.tweet_id)) after201Ms.add(at - probes.get(item.tweet_id));
    seenWall.add(at);
    sightings.add(1);
  }
  return allNew;
}
