/* Who the user is: a session {token, userId, expiresAt} in sessionStorage, obtained from the local
   server's token route or from the Cognito hosted UI (authorization code + PKCE). */
import { request } from './api.js';

/** @typedef {{token:string, userId:string, expiresAt:number}} Session */
/** @typedef {{domain:string, client_id:string, redirect_uri:string, scope?:string}} CognitoConfig */

const SESSION = 'timeline.session';
const PKCE = 'timeline.pkce';

/** @returns {Session|null} the stored session, unless it is missing, corrupt or expired */
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) ?? 'null');
    if (s?.token && s.userId && s.expiresAt > Date.now()) return s;
  } catch { /* a corrupt entry counts as none */ }
  sessionStorage.removeItem(SESSION);
  return null;
}

/** @param {string} token @param {string} userId @param {number} expiresAt ms since the epoch */
function save(token, userId, expiresAt) {
  const s = { token, userId, expiresAt };
  sessionStorage.setItem(SESSION, JSON.stringify(s));
  return s;
}

/** Forgets the session and any half-done sign-in. */
export const clearSession = () => sessionStorage.clear();

/** Local mode: the dev server mints a token for any valid user ID. @param {string} userId */
export async function localSignIn(userId) {
  const { data } = await request('POST', '/local/token', { body: { user_id: userId } });
  return save(data.token, data.user_id, Date.now() + (data.expires_in ?? 3600) * 1000);
}

/** Sends the browser to the hosted UI, keeping the PKCE verifier and state for the way back. @param {CognitoConfig} c */
export async function startCognito(c) {
  const verifier = random(32);
  const state = random(16);
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({ response_type: 'code', client_id: c.client_id, redirect_uri: c.redirect_uri,
    scope: c.scope ?? 'openid', state, code_challenge: await sha256(verifier), code_challenge_method: 'S256' });
  location.assign(`${c.domain}/oauth2/authorize?${q}`);
}

/** Completes a redirect back from the hosted UI, when this page load is one.
 * @param {CognitoConfig} c @returns {Promise<Session|null>} null when the URL carries no answer */
export async function finishCognito(c) {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return null;
  const pkce = JSON.parse(sessionStorage.getItem(PKCE) ?? 'null');
  sessionStorage.removeItem(PKCE);
  // Drop ?code=... from the address bar, so that a reload does not replay a spent code.
  history.replaceState(null, '', `${location.pathname}#/home`);
  if (q.has('error')) throw new Error(`Sign-in failed: ${q.get('error_description') ?? q.get('error')}`);
  if (!pkce || pkce.state !== q.get('state')) throw new Error('That sign-in answer was not for this tab. Sign in again.');
  const res = await fetch(`${c.domain}/oauth2/token`, { // a URLSearchParams body is sent form-encoded
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: c.client_id, code: q.get('code') ?? '',
      redirect_uri: c.redirect_uri, code_verifier: pkce.verifier }),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok || !data.id_token) throw new Error(`Sign-in failed: ${data.error ?? `HTTP ${res.status}`}`);
  // API Gateway verifies the token; here it is only read, for the caller's ID (`sub`) and expiry.
  const claims = jwtPayload(data.id_token);
  return save(data.id_token, claims.sub, claims.exp * 1000);
}

/** The hosted UI's logout, which comes back to the app. @param {CognitoConfig} c */
export const cognitoLogoutUrl = (c) =>
  `${c.domain}/logout?${new URLSearchParams({ client_id: c.client_id, logout_uri: c.redirect_uri })}`;

/** @param {string} jwt */
function jwtPayload(jwt) {
  const b64 = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
}

/** @param {Uint8Array} bytes */
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
/** n random bytes in base64url: 32 make a 43-character PKCE verifier. @param {number} n */
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
/** @param {string} s */
const sha256 = async (s) => b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))));
