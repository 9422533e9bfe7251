/* Transport for the timeline REST API (docs/API.md): base URL, bearer token, JSON bodies, and
   the one error body shape, {"error":{"code","message"}}, turned into an ApiError. */

/** @typedef {{user_id:string, username:string, display_name:string, created_at:string, followers_count:number, following_count:number}} User */
/** @typedef {{tweet_id:string, author_id:string, author_username:string, text:string, created_at:string}} Tweet */

let base = '';
let getToken = /** @type {() => (string|null)} */ (() => null);
let onExpired = /** @type {(e: ApiError) => void} */ (() => {});

/** @param {{base:string, getToken:() => (string|null), onExpired:(e: ApiError) => void}} o */
export function configureApi(o) {
  ({ getToken, onExpired } = o);
  base = o.base.replace(/\/+$/, '');
}

export class ApiError extends Error {
  /** @param {number} status HTTP status, 0 if the service was not reached @param {string} code the stable
   * part, which clients branch on @param {string} message @param {number|null} [retryAfter] seconds */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** The field a validation message names ("username: may only ..."), or null. */
  get field() { return /^([a-z_]+): /.exec(this.message)?.[1] ?? null; }

  /** The message without that field prefix, for showing next to the field. */
  get detail() { return this.message.replace(/^[a-z_]+: /, ''); }
}

/** Encodes one path segment: user IDs may hold ":" and "@". */
export const seg = encodeURIComponent;

/** @param {string} method @param {string} path e.g. `/users/${seg(id)}`
 * @param {{body?:object, query?:Record<string, string|number|null|undefined>, headers?:Record<string, string>}} [o]
 * @returns {Promise<{status:number, data:any}>} data is null for 204 */
export async function request(method, path, { body, query = {}, headers = {} } = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v != null) qs.set(k, String(v));
  const token = getToken();
  const h = { ...headers, ...(token && { Authorization: `Bearer ${token}` }), ...(body && { 'Content-Type': 'application/json' }) };
  let res;
  try {
    res = await fetch(base + path + (qs.toString() ? `?${qs}` : ''), { method, headers: h, body: body && JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the service. Check your connection and try again.');
  }
  const data = await readJson(res);
  if (res.ok) {
    if (data === null && res.status !== 204) throw new ApiError(res.status, 'bad_response', 'The service gave an answer this page cannot read.');
    return { status: res.status, data }; // 201 bodies hold the new resource, so Location is not needed
  }
  const err = data?.error ?? {};
  const e = new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? `HTTP ${res.status}`,
    retryAfter(res.headers.get('Retry-After')));
  if (res.status === 401 && token) onExpired(e); // only a token we sent can have expired
  throw e;
}

/** The body if it is JSON: application/json with or without charset, or application/<x>+json. @param {Response} res */
async function readJson(res) {
  const type = res.headers.get('Content-Type') ?? '';
  if (res.status === 204 || !/^\s*application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) return null;
  return res.json().catch(() => null);
}

/** Retry-After in whole seconds (at least 1), from either form the header allows. @param {string|null} v */
function retryAfter(v) {
  if (!v) return null;
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - Date.now()) / 1000);
  return Number.isFinite(n) ? Math.max(1, n) : null;
}

/** Words for a failure, chosen by status and code (the stable parts). Only validation messages are
 * shown as the API words them: they name the field and the rule, and are written for people.
 * @param {unknown} e @param {Record<number, string>} [context] what a status means where it happened */
export function explain(e, context = {}) {
  if (!(e instanceof ApiError)) return 'Something went wrong in this page. Reload it and try again.';
  if (context[e.status]) return context[e.status];
  switch (e.status) {
    case 0: return e.message;
    case 400: return e.code === 'invalid_cursor' ? 'This list has changed. Reload the page to start again.' : e.message;
    case 401: return 'Your session has ended. Sign in again.';
    case 403: return 'You are not allowed to do that.';
    case 404: return 'Not found.';
    case 413: return 'That is too large to send (the limit is 16 KiB).';
    case 429: return `Too many requests: try again in ${e.retryAfter ? `${e.retryAfter} s` : 'a moment'}.`;
  }
  return e.status >= 500 ? 'The service is unavailable right now. Try again shortly.' : e.message;
}
