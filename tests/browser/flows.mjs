// Browser tests of the web client (web/): Debian's headless Chromium, driven by playwright-core,
// against a running timeline-local (BASE_URL). scripts/browser-tests.sh installs both and starts
// the server; run through it (`make browser-tests`, and `make test` runs it).
//
// Environment: BASE_URL (the server, client in local mode), COGNITO_APP_URL (a server whose
// client is configured as deployed, signing in at the stand-in hosted UI this file runs on
// COGNITO_PORT, which signs its ID tokens with JWT_SECRET so the local server takes them),
// CHROMIUM (the browser binary), BROWSER_DEPS (the folder holding node_modules/playwright-core),
// SHOTS_DIR (where screenshots go: failures always, and with SAVE_SHOTS=1 the sign-in, profile
// and timeline pages, for the README).
//
// Each flow is one user story of the issue that asked for the client; a failure saves a
// screenshot of every open page, prints what the page logged, and the run exits 1.

import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(join(process.env.BROWSER_DEPS, 'package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS_DIR;
const RUN = Date.now().toString(36);
// Fan-out to a follower's timeline takes well under a second locally; the banner polls every 3 s.
const SEEN_WITHIN_MS = 15_000;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
const pages = [];
const problems = [];

/** A signed-out browser of its own (sessions live in sessionStorage, one per context). */
async function person(name, viewport = { width: 1000, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium itself logs every 4xx answer, which the app expects and shows in words (no
    // profile yet, a post too long); anything else logged as an error is a problem.
    const answered4xx = /Failed to load resource: .*status of 4\d\d/.test(message.text());
    if (message.type() === 'error' && !answered4xx) problems.push(`${name}: console: ${message.text()}`);
  });
  pages.push({ name, page });
  return page;
}

const id = (testid) => `[data-testid="${testid}"]`;

async function signIn(page, userId) {
  await page.goto(`${BASE}/app/`);
  await page.fill(id('signin-user-id'), userId);
  await page.click(id('signin-button'));
}

async function createProfile(page, username) {
  await page.fill(id('profile-form-username'), username);
  await page.click(id('profile-form-submit'));
  await page.waitForSelector(id('post-box'));
}

async function post(page, text) {
  await page.fill(id('post-box'), text);
  await page.click(id('post-button'));
  await page.waitForFunction((box) => document.querySelector(box)?.value === '', id('post-box'));
}

/** The tweet IDs the home timeline lists, in order. */
const listed = (page) =>
  page.$$eval(`${id('timeline-list')} ${id('tweet')}`, (items) => items.map((item) => item.dataset.tweetId));

/** Wait until `done(listed tweets)` holds, clicking the new-posts banner whenever it shows. */
async function waitForTimeline(page, done, what) {
  const until = Date.now() + SEEN_WITHIN_MS;
  for (;;) {
    if (done(await listed(page))) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    const banner = page.locator(id('new-posts'));
    if (await banner.isVisible()) await banner.click();
    await page.waitForTimeout(250);
  }
}

async function shot(page, name) {
  if (process.env.SAVE_SHOTS === '1') await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Post `count` tweets through the API with the user's local token: the paging flow needs many. */
async function postThroughApi(userId, count) {
  const minted = await fetch(`${BASE}/local/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId }),
  });
  const { token } = await minted.json();
  const ids = [];
  for (let n = 0; n < count; n++) {
    const reply = await fetch(`${BASE}/tweets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ text: `paged post ${n}` }),
    });
    if (reply.status !== 201) throw new Error(`POST /tweets answered ${reply.status}: ${await reply.text()}`);
    ids.push((await reply.json()).tweet_id);
  }
  return ids;
}

/** Press Tab until the element marked `testid` has the focus (at most 30 presses). */
async function tabTo(page, testid) {
  for (let n = 0; n < 30; n++) {
    if (await page.evaluate((t) => document.activeElement?.dataset.testid === t, testid)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${testid}`);
}

/** Nothing wider than the viewport, and a label for every field. */
async function fitsAndLabelled(page, where) {
  const { width, overflow, unlabelled } = await page.evaluate(() => ({
    width: window.innerWidth,
    overflow: document.documentElement.scrollWidth,
    unlabelled: [...document.querySelectorAll('input, textarea, select')]
      .filter((field) => field.labels.length === 0 && !field.getAttribute('aria-label'))
      .map((field) => field.id || field.name),
  }));
  if (overflow > width) throw new Error(`${where}: the page is ${overflow} px wide in a ${width} px window`);
  if (unlabelled.length) throw new Error(`${where}: fields without a label: ${unlabelled.join(', ')}`);
}

/** A stand-in for Cognito's hosted UI: /oauth2/authorize answers at once with a code bound to
 * the PKCE challenge, /oauth2/token hands out an ID token only for the verifier of that
 * challenge, and /logout returns to the app. Its tokens are HS256, signed with the local server's
 * secret, so the API takes them as API Gateway takes Cognito's. */
const hostedUi = { exchanged: false, loggedOut: false, codes: new Map() };
const base64url = (data) => Buffer.from(data).toString('base64url');
function idToken(sub) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 3600, token_use: 'id' }));
  const signature = createHmac('sha256', process.env.JWT_SECRET).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${signature}`;
}
const stub = createServer((request, response) => {
  const url = new URL(request.url, 'http://stub');
  const cors = { 'access-control-allow-origin': '*' };
  if (url.pathname === '/oauth2/authorize') {
    const q = url.searchParams;
    if (q.get('code_challenge_method') !== 'S256' || q.get('response_type') !== 'code' || !q.get('code_challenge')) {
      response.writeHead(400).end('authorization code with S256 PKCE only');
      return;
    }
    const code = randomUUID();
    hostedUi.codes.set(code, { challenge: q.get('code_challenge'), redirect: q.get('redirect_uri') });
    const back = new URL(q.get('redirect_uri'));
    back.search = new URLSearchParams({ code, state: q.get('state') }).toString();
    response.writeHead(302, { location: back.toString() }).end();
  } else if (url.pathname === '/oauth2/token' && request.method === 'POST') {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const form = new URLSearchParams(body);
      const issued = hostedUi.codes.get(form.get('code'));
      hostedUi.codes.delete(form.get('code'));
      const verified = issued && issued.redirect === form.get('redirect_uri') &&
        createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url') === issued.challenge;
      if (!verified || form.get('grant_type') !== 'authorization_code') {
        response.writeHead(400, { ...cors, 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
        return;
      }
      hostedUi.exchanged = true;
      const token = idToken(`cognito-${RUN}`);
      response.writeHead(200, { ...cors, 'content-type': 'application/json' })
        .end(JSON.stringify({ id_token: token, access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    });
  } else if (url.pathname === '/logout') {
    hostedUi.loggedOut = true;
    response.writeHead(302, { location: url.searchParams.get('logout_uri') }).end();
  } else {
    response.writeHead(404).end();
  }
});
await new Promise((ready) => stub.listen(Number(process.env.COGNITO_PORT), '127.0.0.1', ready));

const flows = [];
const flow = (name, run) => flows.push({ name, run });
const users = { alice: `alice-${RUN}`, bob: `bob-${RUN}` };
const usernames = { alice: `alice_${RUN}`.slice(0, 15), bob: `bob_${RUN}`.slice(0, 15) };
let alice;
let bob;
let posted;
let newest;

flow('alice signs in and creates her profile', async () => {
  alice = await person('alice');
  await alice.goto(`${BASE}/app/`);
  await alice.waitForSelector(id('signin-user-id'));
  await shot(alice, 'sign-in');
  await signIn(alice, users.alice);
  await createProfile(alice, usernames.alice);
});

flow('bob signs in, finds alice and follows her', async () => {
  bob = await person('bob');
  await signIn(bob, users.bob);
  await createProfile(bob, usernames.bob);
  await bob.click(id('nav-find'));
  await bob.fill(id('find-username'), usernames.alice);
  await bob.click(id('find-button'));
  await bob.click(id('find-result-link'));
  const follow = bob.locator(id('follow-button'));
  await follow.and(bob.locator('[data-following="false"]:enabled')).waitFor();
  await follow.click();
  await bob.locator(`${id('follow-button')}[data-following="true"]`).waitFor();
  await shot(bob, 'profile');
});

flow("alice posts and bob's timeline shows it without a reload", async () => {
  await bob.click(id('nav-home'));
  await bob.waitForSelector(id('timeline-list'), { state: 'attached' }); // hidden while empty
  await post(alice, `hello from alice ${RUN}`);
  const mine = await listed(alice);
  posted = mine[0];
  if (!posted) throw new Error("alice's own timeline does not list her post");
  await waitForTimeline(bob, (ids) => ids.includes(posted), "alice's post in bob's timeline");
});

flow('bob pages back through 45 posts', async () => {
  const ids = await postThroughApi(users.alice, 44); // and the one above: 45
  newest = ids.at(-1);
  await waitForTimeline(bob, (seen) => seen.includes(ids.at(-1)), 'the newest of the 44 posts');
  await bob.reload();
  await bob.waitForSelector(id('tweet'));
  const more = bob.locator(id('load-more'));
  while (await more.isVisible()) {
    const before = (await listed(bob)).length;
    await more.click();
    await bob.waitForFunction(
      ([list, n]) => document.querySelectorAll(list).length > n || !document.querySelector('[data-testid="load-more"]:not([hidden])'),
      [`${id('timeline-list')} ${id('tweet')}`, before],
    );
  }
  const all = await listed(bob);
  const expected = [...ids].reverse().concat(posted);
  if (JSON.stringify(all) !== JSON.stringify(expected)) {
    throw new Error(`bob's timeline, paged: ${all.length} tweets, expected the 45 newest first`);
  }
  await bob.evaluate(() => window.scrollTo(0, 0));
  await shot(bob, 'timeline');
});

flow('a 281-character post shows the error', async () => {
  await alice.fill(id('post-box'), 'x'.repeat(281));
  const count = await alice.textContent(id('char-count'));
  if (count !== '281 / 280') throw new Error(`the count reads ${count}`);
  await alice.click(id('post-button'));
  await alice.locator(`form ${id('error')}`).filter({ hasText: /280/ }).waitFor();
  await alice.fill(id('post-box'), '');
});

flow("alice deletes a post and it leaves bob's timeline", async () => {
  await alice.reload();
  const item = alice.locator(`${id('tweet')}[data-tweet-id="${newest}"]`);
  alice.once('dialog', (dialog) => dialog.accept()); // should the app ask first
  await item.locator(id('delete-tweet')).click();
  await item.waitFor({ state: 'detached' });
  const until = Date.now() + SEEN_WITHIN_MS;
  for (;;) {
    await bob.reload();
    await bob.waitForSelector(id('tweet'));
    if (!(await listed(bob)).includes(newest)) break;
    if (Date.now() > until) throw new Error("the deleted post is still in bob's timeline");
    await bob.waitForTimeout(500);
  }
});

flow('the pages work by keyboard alone, at 360 px wide, every field labelled', async () => {
  const page = await person('carol', { width: 360, height: 740 });
  await page.goto(`${BASE}/app/`);
  await page.waitForSelector(id('signin-user-id'));
  await fitsAndLabelled(page, 'sign-in');
  await tabTo(page, 'signin-user-id');
  await page.keyboard.type(`carol-${RUN}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(id('profile-form-username'));
  await fitsAndLabelled(page, 'create profile');
  await tabTo(page, 'profile-form-username');
  await page.keyboard.type(`carol_${RUN}`.slice(0, 15));
  await page.keyboard.press('Enter');
  await page.waitForSelector(id('post-box'));
  await tabTo(page, 'post-box');
  await page.keyboard.type('typed, not clicked');
  await tabTo(page, 'post-button');
  await page.keyboard.press('Enter');
  await page.locator(`${id('timeline-list')} ${id('tweet-text')}`).filter({ hasText: 'typed, not clicked' }).waitFor();
  await fitsAndLabelled(page, 'home');
});

flow('signing in as deployed: the hosted UI, authorization code with PKCE, then sign-out', async () => {
  const page = await person('dave');
  await page.goto(`${process.env.COGNITO_APP_URL}/app/`);
  await page.click(id('signin-button'));
  await page.waitForSelector(id('profile-form-username')); // back from the hosted UI, signed in
  if (!hostedUi.exchanged) throw new Error('the client never exchanged a code at the token endpoint');
  await createProfile(page, `dave_${RUN}`.slice(0, 15));
  await page.click(id('signout-button'));
  await page.waitForURL(`${process.env.COGNITO_APP_URL}/app/**`);
  await page.waitForSelector(id('signin-button'));
  if (!hostedUi.loggedOut) throw new Error('sign-out did not go through the hosted UI');
});

let failed = 0;
for (const { name, run } of flows) {
  const started = Date.now();
  if (failed) {
    console.log(`skip  ${name}: an earlier flow failed`);
    continue;
  }
  try {
    await run();
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}: ${error.message}`);
    mkdirSync(join(SHOTS, 'failures'), { recursive: true });
    for (const { name: who, page } of pages) {
      const path = join(SHOTS, 'failures', `${flows.findIndex((f) => f.name === name) + 1}-${who}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => {});
      console.log(`      screenshot of ${who}'s page: ${path}`);
    }
  }
}
if (problems.length) {
  failed++;
  console.log(`FAIL  the pages logged errors:\n      ${problems.join('\n      ')}`);
}
await browser.close();
stub.close();
console.log(`${failed ? 'FAILED' : 'passed'}: ${flows.length} browser flows`);
process.exit(failed ? 1 : 0);
