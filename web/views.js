/* DOM building blocks shared by the pages. Text from the API only ever enters the page as text
   nodes (Element.append of strings, textContent), never as HTML. */
import { request, explain, seg, ApiError } from './api.js';

/** @typedef {import('./api.js').Tweet} Tweet */
/** @typedef {import('./api.js').User} User */

/** An element; props become attributes, except `testid` (data-testid) and `on` (listeners).
 * @param {string} tag @param {Record<string, any>} [props] @param {...(Node|string|null|undefined|false)} children */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'on') for (const [type, fn] of Object.entries(v)) el.addEventListener(type, fn);
    else el.setAttribute(k === 'testid' ? 'data-testid' : k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return el;
}

/** Puts a message in an area, which is hidden while it has none. @param {HTMLElement} el @param {string} [text] */
export function say(el, text = '') { el.textContent = text; el.hidden = !text; }

/** An error area, announced when it gets text. @param {string} id */
export const errorArea = (id) => h('p', { id, class: 'error', role: 'alert', testid: 'error', hidden: true });

/** A labelled text input with an optional hint and an error line of its own, both tied to it.
 * @param {{id:string, label:string, testid:string, hint?:string, errorTestid?:string} & Record<string, any>} o */
export function field({ id, label, testid, hint, errorTestid = `${testid}-error`, ...attrs }) {
  const err = errorArea(`${id}-error`);
  err.dataset.testid = errorTestid;
  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id, name: id, testid,
    'aria-describedby': hint ? `${id}-hint ${id}-error` : `${id}-error`, ...attrs }));
  /** Shows (or with no message clears) the field's error. @param {string} [msg] */
  const set = (msg = '') => { say(err, msg); input.setAttribute('aria-invalid', String(Boolean(msg))); };
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint && h('p', { id: `${id}-hint`, class: 'hint' }, hint), err);
  return { el, input, set };
}

export const profileHref = (/** @type {string} */ id) => `#/users/${encodeURIComponent(id)}`;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A <time> in the reader's locale, with the exact RFC 3339 time as its tooltip. @param {string} iso */
export function when(iso) {
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, Number.isNaN(d.getTime()) ? iso : dateFormat.format(d));
}

/** @param {Tweet} t @param {((t: Tweet, button: HTMLElement) => void)|null} onDelete given for the caller's own */
export function tweetItem(t, onDelete) {
  const time = when(t.created_at);
  const li = h('li', { class: 'tweet', testid: 'tweet', 'data-tweet-id': t.tweet_id, tabindex: '-1' },
    h('p', { class: 'meta' }, h('a', { href: profileHref(t.author_id), testid: 'tweet-author' }, `@${t.author_username}`), ' · ', time),
    h('p', { class: 'text', dir: 'auto', testid: 'tweet-text' }, t.text));
  if (onDelete) {
    // A list has many "Delete" buttons: the accessible name says which post each one removes.
    const button = h('button', { type: 'button', class: 'danger small', testid: 'delete-tweet',
      'aria-label': `Delete post from ${time.textContent}` }, 'Delete');
    button.addEventListener('click', () => onDelete(t, button));
    li.append(button);
  }
  return li;
}

/** @param {User} u @param {string} [linkTestid] */
export const userItem = (u, linkTestid = 'user-link') => h('li', { class: 'user', testid: 'user-item', 'data-user-id': u.user_id },
  h('a', { href: profileHref(u.user_id), testid: linkTestid }, h('bdi', {}, u.display_name || u.username)),
  ' ', h('span', { class: 'muted' }, `@${u.username}`));

/** A listing read a page at a time (API.md "Pagination"): the first page without a cursor, then
 * each next_cursor through "Load more", which is hidden once next_cursor is null.
 * @param {{path:string, key:(item:any) => string, render:(item:any) => HTMLElement, testid:string,
 *   moreTestid:string, label:string, empty:string, onError:(msg:string) => void}} o */
export function pagedList(o) {
  const list = h('ul', { class: 'items', testid: o.testid, 'aria-label': o.label });
  const more = h('button', { type: 'button', class: 'secondary more', testid: o.moreTestid, hidden: true }, 'Load more');
  const empty = h('p', { class: 'muted', hidden: true }, o.empty);
  const shown = /** @type {Map<string, HTMLElement>} */ (new Map());
  let cursor = /** @type {string|null} */ (null);

  /** @param {boolean} [reset] start again from the first page @returns {Promise<any[]>} the items read */
  async function load(reset = false) {
    list.setAttribute('aria-busy', 'true');
    try {
      const { data } = await request('GET', o.path, { query: { limit: 20, cursor: reset ? null : cursor } });
      if (reset) { list.replaceChildren(); shown.clear(); }
      for (const item of data.items) add(item);
      cursor = data.next_cursor;
      more.hidden = !cursor;
      return data.items;
    } catch (e) {
      o.onError(explain(e));
      return [];
    } finally {
      list.removeAttribute('aria-busy');
      empty.hidden = shown.size > 0;
    }
  }

  /** Adds an item once: at the end, or if `sorted` by key, largest first (newest tweet first). */
  function add(item, sorted = false) {
    const k = o.key(item);
    if (shown.has(k)) return;
    const li = o.render(item);
    li.dataset.key = k;
    const before = sorted ? [...list.children].find((c) => /** @type {HTMLElement} */ (c).dataset.key < k) : null;
    list.insertBefore(li, before ?? null);
    shown.set(k, li);
    empty.hidden = true;
  }

  /** Removes an item; focus that was in it moves to a neighbour instead of being lost. @param {string} k */
  function remove(k) {
    const li = shown.get(k);
    if (!li) return;
    const next = /** @type {HTMLElement|null} */ (li.nextElementSibling ?? li.previousElementSibling);
    const hadFocus = li.contains(document.activeElement);
    li.remove();
    shown.delete(k);
    empty.hidden = shown.size > 0;
    if (hadFocus) next?.focus();
  }

  more.addEventListener('click', () => load());
  return { el: h('div', {}, list, empty, more), load, add, remove, has: (/** @type {string} */ k) => shown.has(k),
    first: () => /** @type {HTMLElement|null} */ (list.firstElementChild) };
}

/** A paged list of tweets, the caller's own with a Delete button (DELETE /tweets/{id}).
 * @param {{path:string, me:string, testid:string, moreTestid:string, label:string, empty:string,
 *   onError:(msg:string) => void, announce:(msg:string) => void, onDeleted?:(id:string) => void}} o */
export function tweetList(o) {
  const list = pagedList({ ...o, key: (t) => t.tweet_id, render: (t) => tweetItem(t, t.author_id === o.me ? del : null) });

  /** @param {Tweet} t @param {HTMLElement} button */
  async function del(t, button) {
    if (button.getAttribute('aria-busy')) return;
    button.setAttribute('aria-busy', 'true');
    try {
      await request('DELETE', `/tweets/${seg(t.tweet_id)}`);
    } catch (e) {
      button.removeAttribute('aria-busy');
      // 404: already deleted (in another tab, say), so dropping it from the list is right too.
      if (!(e instanceof ApiError && e.status === 404)) return o.onError(explain(e));
    }
    list.remove(t.tweet_id);
    o.onDeleted?.(t.tweet_id);
    o.announce('Post deleted.');
  }
  return list;
}
