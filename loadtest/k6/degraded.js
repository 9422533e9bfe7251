// Degraded scenario: home-timeline reads by the seed's active readers with Redis stopped, so every
// page is served from the durable DynamoDB timeline. Redis must be down before the run:
// scripts/loadtest-suite.sh stops its own for this scenario, and setup() aborts when
// GET /health?deep=true still finds Redis (the figures would be those of cached reads).
//
// One constant-vus phase (closed loop, no think time): each iteration a random reader of
// roles.readers reads its first page (GET /users/{id}/timeline?limit=LIMIT), which must answer 200
// with a non-empty page: each reader follows seeded authors with history, whose tweets the
// durable timeline holds whether Redis is there or not. Nothing is warmed: there is no cache.
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   VUS               default 8
//   DURATION          default 20s
//   LIMIT             default 20: page size of the reads
//   DEGRADED_P99_MS   default 50: threshold on the reads' p(99)
//
// Figures: degraded_rate = reads / DURATION; degraded_p50_ms, degraded_p99_ms from
// http_req_duration{scenario:degraded}; degraded_failed = reads that were not a 200 with items
// (the Rate metric degraded_failed, whose `passes` are the failures).

import http from 'k6/http';
import exec from 'k6/execution';
import { Rate } from 'k6/metrics';
import {
  BASE_URL, MAX_FAILED, checkServer, count, fmt, getTimeline, jsonBody, num, pageItems, randomReader,
  requireRole, results, round, ROUTE, seconds, stat, sub, thresholds, trendStats,
} from './lib.js';

const VUS = num('VUS', 8);
const DURATION_S = seconds('DURATION', 20);
const LIMIT = num('LIMIT', 20);
const DEGRADED_P99_MS = num('DEGRADED_P99_MS', 50);

const READS = sub('http_req_duration', { scenario: 'degraded' });
// Its own failure rate rather than http_req_failed: an empty page is a failure too, and the
// setup's deep health check answers 503 by design.
const failed = new Rate('degraded_failed');

const slo = {
  [READS]: [`p(99)<${DEGRADED_P99_MS}`],
  degraded_failed: [`rate<${MAX_FAILED}`],
};

export const options = {
  scenarios: {
    degraded: { executor: 'constant-vus', exec: 'read', vus: VUS, duration: `${DURATION_S}s` },
  },
  thresholds: thresholds(slo),
  summaryTrendStats: trendStats(),
  setupTimeout: __ENV.SETUP_TIMEOUT || '120s',
};

export function setup() {
  const readers = requireRole('readers');
  checkServer(readers[0].id);
  const res = http.get(`${BASE_URL}/health?deep=true`,
    { timeout: '10s', tags: { name: ROUTE.health, phase: 'setup' } });
  const body = jsonBody(res);
  const redis = body !== null && body.dependencies ? body.dependencies.redis : undefined;
  if (redis !== 'unavailable') {
    exec.test.abort(`BASE_URL=${BASE_URL} still reaches Redis (GET /health?deep=true: status ${res.status}, `
      + `redis ${redis}): this scenario measures reads without it; stop Redis first`);
  }
  return { readers: readers.length };
}

export function read() {
  const page = pageItems(getTimeline(randomReader().id, LIMIT));
  failed.add(page === null || page.items.length === 0);
}

export function handleSummary(data) {
  const figures = {
    vus: VUS,
    degraded_rate: round(count(data, 'degraded_failed') / DURATION_S, 1),
    degraded_p50_ms: round(stat(data, READS, 'med')),
    degraded_p99_ms: round(stat(data, READS, 'p(99)')),
    degraded_failed: stat(data, 'degraded_failed', 'passes') || 0,
  };
  const lines = [
    `${VUS} VUs, ${fmt(DURATION_S, ' s')}, limit ${LIMIT}, Redis stopped`,
    `reads   ${fmt(figures.degraded_rate, '/s')}  p50 ${fmt(figures.degraded_p50_ms, ' ms')}  `
      + `p99 ${fmt(figures.degraded_p99_ms, ' ms')}  failed ${figures.degraded_failed}`,
  ];
  return results(data, 'degraded', slo, figures, lines);
}
