/* People pages: a profile (counts, follow button, posts, followers, following) and Find. */
import { request, explain, seg } from './api.js';
import { h, say, errorArea, field, pagedList, tweetList, userItem, when } from './views.js';
import { isUsername } from './rules.js';

/** @typedef {{me: import('./api.js').User, announce: (msg: string) => void}} Ctx */

/** @param {HTMLElement} view @param {Ctx} ctx @param {string} userId */
export function profilePage(view, ctx, userId) {
  const base = `/users/${seg(userId)}`;
  const error = errorArea('profile-error');
  const fail = (/** @type {string} */ m) => say(error, m);
  const name = h('h2', { tabindex: '-1', testid: 'profile-display-name' }, 'Profile');
  const handle = h('p', { class: 'muted', testid: 'profile-handle' });
  const followers = h('strong', { testid: 'followers-count' }, '…');
  const following = h('strong', { testid: 'following-count' }, '…');
  const posts = tweetList({ path: `${base}/tweets`, me: ctx.me.user_id, testid: 'profile-tweets', moreTestid: 'profile-tweets-more',
    label: 'Posts', empty: 'No posts yet.', onError: fail, announce: ctx.announce });
  /** @param {'followers'|'following'} which @param {string} label */
  const people = (which, label) => pagedList({ path: `${base}/${which}`, key: (u) => u.user_id, render: (u) => userItem(u),
    testid: `${which}-list`, moreTestid: `${which}-more`, label, empty: 'Nobody yet.', onError: fail });
  const lists = { Posts: posts, Followers: people('followers', 'Followers'), Following: people('following', 'Following') };
  const follow = userId === ctx.me.user_id ? null
    : followButton(ctx, userId, fail, () => refresh().then(() => lists.Followers.load(true)));
  view.append(name, handle, h('p', { class: 'counts' }, h('span', {}, followers, ' followers'),
    h('span', {}, following, ' following')), follow?.el, error);

  async function refresh() {
    const { data: u } = await request('GET', base);
    name.replaceChildren(h('bdi', {}, u.display_name || u.username));
    handle.replaceChildren(`@${u.username} · joined `, when(u.created_at));
    followers.textContent = String(u.followers_count);
    following.textContent = String(u.following_count);
    document.title = `@${u.username} · Timeline`;
  }

  refresh().then(() => {
    const sections = Object.entries(lists).map(([title, list]) => h('section', {}, h('h3', {}, title), list.el));
    view.append(sections[0], h('div', { class: 'people' }, sections[1], sections[2]));
    for (const list of Object.values(lists)) list.load(true);
    follow?.init();
  }, (e) => {
    name.textContent = e?.status === 404 ? 'No such user' : 'Profile unavailable';
    fail(explain(e, { 404: 'There is no profile with this ID.' }));
  });
}

/** Follow / Unfollow: PUT or DELETE /users/{me}/following/{target}.
 * @param {Ctx} ctx @param {string} target @param {(msg: string) => void} fail @param {() => Promise<void>} changed */
function followButton(ctx, target, fail, changed) {
  const el = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', testid: 'follow-button', disabled: true }, 'Follow'));
  let on = false;
  const set = (/** @type {boolean} */ v) => {
    on = v;
    el.textContent = v ? 'Unfollow' : 'Follow';
    el.dataset.following = String(v); // for tests: the state, whatever the label's wording
    el.classList.toggle('secondary', v);
  };
  el.addEventListener('click', async () => {
    if (el.getAttribute('aria-busy')) return;
    el.setAttribute('aria-busy', 'true');
    try {
      await request(on ? 'DELETE' : 'PUT', `/users/${seg(ctx.me.user_id)}/following/${seg(target)}`);
      set(!on);
      fail('');
      ctx.announce(on ? 'Following.' : 'Unfollowed.');
      await changed();
    } catch (e) {
      fail(explain(e, { 404: 'One of the two profiles does not exist (any more).' }));
    } finally {
      el.removeAttribute('aria-busy');
    }
  });
  // Until this is known the button is disabled; if it cannot be known it offers Follow, which is
  // harmless: both calls are idempotent.
  const init = () => follows(ctx.me.user_id, target).then(set, (e) => fail(explain(e))).finally(() => { el.disabled = false; });
  return { el, init };
}

/** Whether `me` follows `target`. No route says so directly; `me`'s following listing is sorted by
 * user ID, so it is read only until it passes `target`. @param {string} me @param {string} target */
async function follows(me, target) {
  let cursor = /** @type {string|null} */ (null);
  for (let pages = 0; pages < 50; pages++) {
    const { data } = await request('GET', `/users/${seg(me)}/following`, { query: { limit: 100, cursor } });
    const ids = data.items.map((/** @type {{user_id:string}} */ u) => u.user_id);
    if (ids.includes(target)) return true;
    if (!data.next_cursor || ids.some((/** @type {string} */ id) => id > target)) return false;
    cursor = data.next_cursor;
  }
  return false;
}

/** Find: a user by username (GET /users/by-username/{username}), linked to their profile. @param {HTMLElement} view */
export function findPage(view) {
  const f = field({ id: 'find-username', label: 'Username', testid: 'find-username', errorTestid: 'error',
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const result = h('div', { testid: 'find-result', 'aria-live': 'polite' });
  const form = h('form', { role: 'search', novalidate: true }, f.el, h('button', { type: 'submit', testid: 'find-button' }, 'Find'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = f.input.value.trim().replace(/^@/, '');
    f.set();
    result.replaceChildren();
    // An impossible username would be a 404 as well; checking first says why, and saves the request.
    if (!isUsername(name)) return f.set('A username is 1 to 15 letters (A-Z), digits or underscores.');
    try {
      const { data } = await request('GET', `/users/by-username/${seg(name)}`);
      result.append(h('ul', { class: 'items' }, userItem(data, 'find-result-link')));
    } catch (e) {
      f.set(explain(e, { 404: `Nobody has the username @${name}.` }));
    }
  });
  view.append(h('h2', { tabindex: '-1' }, 'Find people'), form, result);
}
