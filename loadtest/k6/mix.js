// Mix scenario: a read-heavy mix at stepped open-loop rates, to find the knee.
//
// Each iteration is one operation, drawn at random:
//   READ_PCT   (95) a random active reader (roles.readers) reads its first page (limit LIMIT);
//   POST_PCT    (4) a random graph user posts a tweet (fanned out to its followers);
//   the rest    (1) a random graph user follows another random graph user, then unfollows them
//                   (two requests). A pair that was already an edge of the seeded graph loses it
//                   (PUT is 204 either way, so it cannot be told apart): the chance is about
//                   edges / users^2 per pair, ~0.2% with the default graph.
// Rates: one constant-arrival-rate scenario per rate of RATES (iterations per second), each
// lasting STEP, one after the other (startTime), separated by a short pause in which the step's
// last iterations finish (gracefulStop), so the steps never overlap. Every metric of a step is
// tagged step=<offered rate>. setup() warms the readers' timelines, as in read.js.
//
// Figures per step (rates per second, like every rate of the results files):
//   achieved_rate  completed iterations / STEP;
//   p50_ms, p99_ms of every request of the step (http_req_duration{step:R});
//   failed_rate    failed requests / STEP (http_req_failed{step:R}: its `passes` are the failures);
//   within_slo     achieved_rate >= 95% of the offered rate, p99_ms <= SLO_P99_MS and the failed
//                  fraction of the step's requests < MAX_FAILED.
// knee_rate = the highest offered rate within the SLO, provided a higher step is not: null when
// no step is within the SLO, and also when every step is (the knee lies above the highest rate
// tried; timeline-results reads a null knee that way). Steps over the SLO are expected: their
// submetric thresholds ('>=0') only fetch values and always pass; the run fails only on the global
// http_req_failed threshold.
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   RATES       default 100,200,400,800,1600 (iterations/s, one step each)
//   STEP        default 20s (each step)
//   SLO_P99_MS  default 100
//   LIMIT       default 20: page size of the reads
//   READ_PCT    default 95;  POST_PCT default 4 (the rest follows + unfollows)
//   PRE_VUS     default 50:  VUs allocated before each step
//   MAX_VUS     default 400: at most this many VUs per step (k6 adds them when the server slows)

import exec from 'k6/execution';
import {
  MAX_FAILED, count, fmt, follow, getTimeline, num, numList, postTweet, randomGraphUser, randomReader,
  results, round, seconds, stat, sub, thresholds, trendStats, unfollow, setupReaders,
} from './lib.js';

const RATES = numList('RATES', [100, 200, 400, 800, 1600]);
const STEP_S = seconds('STEP', 20);
const SLO_P99_MS = num('SLO_P99_MS', 100);
const LIMIT = num('LIMIT', 20);
const READ_PCT = num('READ_PCT', 95);
const POST_PCT = num('POST_PCT', 4);
const PRE_VUS = num('PRE_VUS', 50);
const MAX_VUS = Math.max(PRE_VUS, num('MAX_VUS', 400));
const GRACE_S = 2;

const scenarios = {};
RATES.forEach((rate, i) => {
  scenarios[`step_${rate}`] = {
    executor: 'constant-arrival-rate',
    exec: 'mix',
    rate,
    timeUnit: '1s',
    duration: `${STEP_S}s`,
    preAllocatedVUs: PRE_VUS,
    maxVUs: MAX_VUS,
    startTime: `${i * (STEP_S + GRACE_S)}s`,
    gracefulStop: `${GRACE_S}s`,
    tags: { step: String(rate) },
  };
});

const slo = { http_req_failed: [`rate<${MAX_FAILED}`] };
const probes = {};
for (const rate of RATES) {
  probes[sub('http_req_duration', { step: rate })] = ['p(99)>=0'];
  probes[sub('http_req_failed', { step: rate })] = ['rate>=0'];
  probes[sub('iterations', { step: rate })] = ['count>=0'];
}

export const options = {
  scenarios,
  thresholds: thresholds(slo, probes),
  summaryTrendStats: trendStats(),
  setupTimeout: __ENV.SETUP_TIMEOUT || '300s',
};

export function setup() {
  return setupReaders(LIMIT);
}

export function mix() {
  const draw = Math.random() * 100;
  if (draw < READ_PCT) {
    getTimeline(randomReader().id, LIMIT, { op: 'read' });
  } else if (draw < READ_PCT + POST_PCT) {
    const author = randomGraphUser();
    postTweet(author, `mix ${exec.scenario.name} #${exec.scenario.iterationInTest}`, { op: 'post' });
  } else {
    const user = randomGraphUser();
    let target = randomGraphUser();
    while (target === user) target = randomGraphUser();
    if (follow(user, target, { op: 'follow' }).status === 204) unfollow(user, target, { op: 'follow' });
  }
}

export function handleSummary(data) {
  const measured = RATES.map((rate) => {
    const durations = sub('http_req_duration', { step: rate });
    const failed = sub('http_req_failed', { step: rate });
    return {
      rate,
      achieved: count(data, sub('iterations', { step: rate })) / STEP_S,
      p50: stat(data, durations, 'med'),
      p99: stat(data, durations, 'p(99)'),
      failures: stat(data, failed, 'passes') || 0, // http_req_failed counts a failure as a pass
      fraction: stat(data, failed, 'rate'),
    };
  });
  const steps = measured.map((m) => ({
    offered_rate: m.rate,
    achieved_rate: round(m.achieved, 1),
    p50_ms: round(m.p50),
    p99_ms: round(m.p99),
    failed_rate: round(m.failures / STEP_S, 2),
    within_slo: m.achieved >= 0.95 * m.rate && m.p99 !== null && m.p99 <= SLO_P99_MS
      && m.fraction !== null && m.fraction < MAX_FAILED,
  }));
  const within = steps.filter((s) => s.within_slo).map((s) => s.offered_rate);
  const over = steps.filter((s) => !s.within_slo).map((s) => s.offered_rate);
  const highestWithin = Math.max(...within);
  const knee = within.length > 0 && over.some((rate) => rate > highestWithin) ? highestWithin : null;
  const figures = {
    slo_p99_ms: SLO_P99_MS,
    step_s: STEP_S,
    steps,
    knee_rate: knee,
  };
  const lines = [
    `${READ_PCT}% reads / ${POST_PCT}% posts / ${round(100 - READ_PCT - POST_PCT, 2)}% follow+unfollow, ${fmt(STEP_S, ' s')} per step, SLO p99 <= ${SLO_P99_MS} ms`,
    'offered  achieved      p50      p99  failed (/s, %)  within SLO',
    ...steps.map((s, i) => `${String(s.offered_rate).padStart(7)}  ${fmt(s.achieved_rate).padStart(8)}  `
      + `${fmt(s.p50_ms, ' ms').padStart(7)}  ${fmt(s.p99_ms, ' ms').padStart(7)}  `
      + `${fmt(s.failed_rate).padStart(6)} ${fmt(measured[i].fraction === null ? null : measured[i].fraction * 100, '%').padStart(7)}  `
      + `${s.within_slo ? 'yes' : 'no'}`),
    `knee: ${knee !== null ? `${knee}/s`
      : within.length === 0 ? 'none: no step within the SLO' : 'not reached: every step within the SLO'}`,
  ];
  return results(data, 'mix', slo, figures, lines);
}
