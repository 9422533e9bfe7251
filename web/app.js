/* Entry point: reads config.json, restores or completes sign-in, makes sure the caller has a
   profile, then shows the page the hash names: #/home, #/find or #/users/<user id>. */
import { configureApi, request, explain, seg, ApiError } from './api.js';
import { loadSession, clearSession, finishCognito, cognitoLogoutUrl } from './auth.js';
import { h, profileHref } from './views.js';
import { signInPage, createProfilePage } from './onboard.js';
import { homePage } from './home.js';
import { profilePage, findPage } from './profile.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

let config = /** @type {any} */ (null);
let session = /** @type {import('./auth.js').Session|null} */ (null);
let me = /** @type {import('./api.js').User|null} */ (null);
/** Stops what the current page runs in the background (the home page's polling). */
let stop = () => {};

/** Replaces the page; focus moves to its heading, so that screen readers follow the change.
 * @param {string} title @param {(view: HTMLElement) => (void|(() => void))} render */
function show(title, render) {
  stop();
  $('view').replaceChildren();
  document.title = `${title} · Timeline`;
  stop = render($('view')) ?? (() => {});
  $('view').querySelector('h2')?.focus();
}

/** A page that only reports a problem, with an optional way to try again. */
function problem(/** @type {string} */ title, /** @type {string} */ message, /** @type {(() => void)|null} */ retry = null) {
  show(title, (v) => v.append(h('h2', { tabindex: '-1' }, title), h('p', { class: 'error', role: 'alert', testid: 'error' }, message),
    retry && h('button', { type: 'button', on: { click: retry } }, 'Try again')));
}

/** Speaks a short confirmation ("Posted.") through the status region. @param {string} msg */
function announce(msg) {
  $('status').textContent = '';
  setTimeout(() => { $('status').textContent = msg; }, 50); // emptied first, so a repeat is spoken again
}

/** @param {string} [notice] */
function showSignIn(notice) {
  session = me = null;
  $('nav').hidden = $('account').hidden = true;
  show('Sign in', (v) => signInPage(v, { config, notice, onSignedIn: enter }));
}

/** A token we sent was refused (expired, most likely): back to sign-in, once. */
function expire() {
  if (session) { clearSession(); showSignIn('Your session has ended. Sign in again.'); }
}

/** Signed in: load the caller's profile, or ask for one if there is none yet. @param {import('./auth.js').Session} s */
async function enter(s) {
  session = s;
  $('whoami').textContent = s.userId;
  $('account').hidden = false;
  show('Loading', (v) => { v.append(h('p', { class: 'muted' }, 'Loading your profile…')); });
  try {
    me = (await request('GET', `/users/${seg(s.userId)}`)).data;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return show('Create your profile', (v) => createProfilePage(v, { userId: s.userId, onCreated: ready }));
    }
    return session && problem('Could not load your profile', explain(e), () => enter(s)); // no session: 401, signed out
  }
  ready(/** @type {import('./api.js').User} */ (me));
}

/** @param {import('./api.js').User} u */
function ready(u) {
  me = u;
  $('whoami').textContent = `@${u.username}`;
  $('nav-me').setAttribute('href', profileHref(u.user_id));
  $('nav').hidden = false;
  route();
}

function route() {
  if (!session || !me) return;
  const [, page = '', arg = ''] = /^#\/([^/]*)\/?(.*)$/.exec(location.hash) ?? [];
  let id = '';
  try { id = decodeURIComponent(arg); } catch { /* a malformed hash falls through to Home */ }
  const current = page === 'users' && id === me.user_id ? 'me' : page;
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.page === current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const ctx = { me, announce };
  if (page === 'users' && id) return show('Profile', (v) => profilePage(v, ctx, id));
  if (page === 'find') return show('Find people', findPage);
  if (page !== 'home') history.replaceState(null, '', '#/home');
  show('Home', (v) => homePage(v, ctx));
}

async function loadConfig() {
  const res = await fetch('config.json', { cache: 'no-store' }); // relative: /app/config.json
  if (!res.ok) throw new Error(`config.json answered HTTP ${res.status}`);
  const c = await res.json();
  if (c.mode !== 'local' && c.mode !== 'cognito') throw new Error('"mode" must be "local" or "cognito"');
  if (c.mode === 'cognito') {
    if (!c.cognito?.domain || !c.cognito.client_id || !c.cognito.redirect_uri) throw new Error('"cognito" needs domain, client_id, redirect_uri');
    c.cognito.domain = c.cognito.domain.replace(/\/+$/, '');
  }
  return { ...c, api_base: typeof c.api_base === 'string' ? c.api_base : '' };
}

$('signout').addEventListener('click', () => {
  clearSession();
  if (config.mode === 'cognito') location.assign(cognitoLogoutUrl(config.cognito));
  else showSignIn();
});
window.addEventListener('hashchange', route);

(async function boot() {
  try {
    config = await loadConfig();
  } catch (e) {
    return problem('The app could not start', `Its configuration could not be read: ${e instanceof Error ? e.message : e}.`);
  }
  configureApi({ base: config.api_base, getToken: () => session?.token ?? null, onExpired: expire });
  let notice = '';
  if (config.mode === 'cognito') {
    try {
      const s = await finishCognito(config.cognito);
      if (s) return enter(s);
    } catch (e) {
      notice = e instanceof Error ? e.message : String(e);
    }
  }
  const s = loadSession();
  if (s) enter(s); else showSignIn(notice);
})();
