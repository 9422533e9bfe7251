// Read scenario: home-timeline reads by the seed's active readers, against /health as the floor.
//
// Two phases with the same VUS for the same DURATION, one after the other (the second starts when
// the first has stopped, so they never compete for the CPU or the server):
//   reads   each iteration: a random reader of roles.readers reads its first page
//           (GET /users/{id}/timeline?limit=LIMIT), tagged followees=<its followee count>; k6
//           keeps no body (the status is all the phase checks);
//   health  each iteration: GET /health, the cheapest answer the server gives: what this machine,
//           k6 and the HTTP stack manage, with no store behind it.
// Closed loop (constant-vus, no think time), so each rate is what VUS back-to-back clients get;
// with the same VUS and duration the two rates compare, and ratio = read_rate / health_rate.
// setup() reads every reader's timeline once, so the measured reads hit a warm cache.
//
// Environment (besides lib.js's BASE_URL, SEED_FILE, RESULTS_DIR, RUN, MAX_FAILED):
//   VUS          default 32
//   DURATION     default 30s (each phase)
//   LIMIT        default 20: page size of the reads
//   READ_P99_MS  default 50: threshold on the reads' p(99)
//
// Figures: read_rate/health_rate = requests of the phase / DURATION; read_* and health_* from
// http_req_duration of each phase; by_followees from the reads' submetrics per followees tag.

import {
  MAX_FAILED, count, fmt, getHealth, readTimeline, num, randomReader, results, role, round, seconds, stat,
  sub, thresholds, trendStats, setupReaders,
} from './lib.js';

const VUS = num('VUS', 32);
const DURATION_S = seconds('DURATION', 30);
const LIMIT = num('LIMIT', 20);
const READ_P99_MS = num('READ_P99_MS', 50);
const GRACE_S = 2;

// Followee counts of the readers (the seed's, or the seeder's default ones for `k6 inspect`).
const FOLLOWEES = [...new Set(role('readers', [{ followees: 10 }, { followees: 100 }, { followees: 1000 }])
  .map((r) => r.followees))].sort((a, b) => a - b);

const READS = sub('http_req_duration', { scenario: 'reads' });
const HEALTH = sub('http_req_duration', { scenario: 'health' });

const slo = {
  http_req_failed: [`rate<${MAX_FAILED}`],
  [READS]: [`p(99)<${READ_P99_MS}`],
};
const probes = {
  [HEALTH]: ['p(99)>=0'],
  [sub('http_reqs', { scenario: 'reads' })]: ['count>=0'],
  [sub('http_reqs', { scenario: 'health' })]: ['count>=0'],
};
for (const n of FOLLOWEES) probes[sub('http_req_duration', { scenario: 'reads', followees: n })] = ['p(99)>=0'];

export const options = {
  scenarios: {
    reads: {
      executor: 'constant-vus', exec: 'read', vus: VUS, duration: `${DURATION_S}s`, gracefulStop: `${GRACE_S}s`,
    },
    health: {
      executor: 'constant-vus', exec: 'health', vus: VUS, duration: `${DURATION_S}s`, gracefulStop: `${GRACE_S}s`,
      startTime: `${DURATION_S + GRACE_S}s`,
    },
  },
  thresholds: thresholds(slo, probes),
  summaryTrendStats: trendStats(),
  setupTimeout: __ENV.SETUP_TIMEOUT || '300s',
};

export function setup() {
  return setupReaders(LIMIT);
}

export function read() {
  const reader = randomReader();
  readTimeline(reader.id, LIMIT, { followees: String(reader.followees) });
}

export function health() {
  getHealth();
}

export function handleSummary(data) {
  const reads = count(data, sub('http_reqs', { scenario: 'reads' }));
  const healths = count(data, sub('http_reqs', { scenario: 'health' }));
  const readRate = reads / DURATION_S;
  const healthRate = healths / DURATION_S;
  const figures = {
    vus: VUS,
    read_rate: round(readRate, 1),
    health_rate: round(healthRate, 1),
    ratio: healthRate > 0 ? round(readRate / healthRate, 4) : null,
    read_p50_ms: round(stat(data, READS, 'med')),
    read_p99_ms: round(stat(data, READS, 'p(99)')),
    health_p50_ms: round(stat(data, HEALTH, 'med')),
    health_p99_ms: round(stat(data, HEALTH, 'p(99)')),
    by_followees: FOLLOWEES.map((n) => {
      const m = sub('http_req_duration', { scenario: 'reads', followees: n });
      return { followees: n, requests: count(data, m), p50_ms: round(stat(data, m, 'med')), p99_ms: round(stat(data, m, 'p(99)')) };
    }),
  };
  const lines = [
    `${VUS} VUs, ${fmt(DURATION_S, ' s')} per phase, limit ${LIMIT}`,
    `reads   ${fmt(figures.read_rate, '/s')}  p50 ${fmt(figures.read_p50_ms, ' ms')}  p99 ${fmt(figures.read_p99_ms, ' ms')}`,
    `health  ${fmt(figures.health_rate, '/s')}  p50 ${fmt(figures.health_p50_ms, ' ms')}  p99 ${fmt(figures.health_p99_ms, ' ms')}`,
    `ratio   ${fmt(figures.ratio)} (read rate / health rate)`,
    ...figures.by_followees.map((f) => `followees ${String(f.followees).padStart(5)}: ${f.requests} reads  p50 ${fmt(f.p50_ms, ' ms')}  p99 ${fmt(f.p99_ms, ' ms')}`),
  ];
  return results(data, 'read', slo, figures, lines);
}
