/* Home: the post box, and the caller's home timeline, polled every 3 s for newer posts. */
import { request, explain, seg, ApiError } from './api.js';
import { h, say, errorArea, tweetList } from './views.js';
import { TWEET_MAX, charCount } from './rules.js';

/** @typedef {import('./api.js').Tweet} Tweet */

const POLL_MS = 3000;

/** @param {HTMLElement} view @param {{me: import('./api.js').User, announce: (msg: string) => void}} ctx
 * @returns {() => void} stops the polling when the page is left */
export function homePage(view, ctx) {
  const path = `/users/${seg(ctx.me.user_id)}/timeline`;
  const error = errorArea('post-error');
  /** Deleted here: the fan-out may list them for a moment yet, and they must not return as "new". */
  const deleted = new Set();
  const timeline = tweetList({ path, me: ctx.me.user_id, testid: 'timeline-list', moreTestid: 'load-more',
    label: 'Home timeline', empty: 'Nothing here yet: post something, or find people to follow.',
    onError: (m) => say(error, m), announce: ctx.announce, onDeleted: (id) => deleted.add(id) });
  const banner = newPosts(path, timeline, deleted);
  view.append(h('h2', { tabindex: '-1' }, 'Home'), postBox(ctx, error, (t) => timeline.add(t, true)), banner.el, timeline.el);
  timeline.load(true).then(banner.track);
  return banner.start();
}

/** The post box: a live "n / 280" count, counted as the API counts, and POST /tweets.
 * @param {{announce: (msg: string) => void}} ctx @param {HTMLElement} error @param {(t: Tweet) => void} onPosted */
function postBox(ctx, error, onPosted) {
  const box = /** @type {HTMLTextAreaElement} */ (h('textarea',
    { id: 'post-text', name: 'text', rows: '3', testid: 'post-box', 'aria-describedby': 'char-count post-error' }));
  const count = h('span', { id: 'char-count', class: 'count', testid: 'char-count' });
  const button = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', testid: 'post-button' }, 'Post'));
  const form = h('form', { class: 'post', novalidate: true }, h('label', { for: 'post-text' }, 'What’s happening?'), box,
    h('div', { class: 'post-bar' }, count, button), error);
  // One Idempotency-Key per text: sending the same text again after a lost answer reuses it, so
  // the API answers with the first tweet instead of posting twice. Other text gets a new key.
  let key = { text: '', id: '' };
  let busy = false;

  function update() {
    const n = charCount(box.value);
    count.textContent = `${n} / ${TWEET_MAX}`;
    count.classList.toggle('over', n > TWEET_MAX);
    count.dataset.over = String(n > TWEET_MAX);
    box.setAttribute('aria-invalid', String(n > TWEET_MAX));
    button.disabled = n === 0; // anything else goes to the API, whose verdict is shown
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = box.value;
    if (busy || !text) return;
    if (key.text !== text) key = { text, id: newKey() };
    busy = true;
    button.setAttribute('aria-busy', 'true');
    say(error);
    try {
      const { data } = await request('POST', '/tweets', { body: { text }, headers: { 'Idempotency-Key': key.id } });
      key = { text: '', id: '' };
      box.value = '';
      box.focus();
      onPosted(data); // shown at once: the fan-out brings it to the timeline a moment later
      ctx.announce('Posted.');
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) key = { text: '', id: '' };
      say(error, explain(e, { 404: 'Create your profile before posting.',
        409: 'This clashed with an earlier post sent under the same key. Press Post again to send it as a new post.' }));
    } finally {
      busy = false;
      button.removeAttribute('aria-busy');
      update();
    }
  });
  box.addEventListener('input', update);
  box.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) form.requestSubmit(); });
  update();
  return form;
}

/** A fresh Idempotency-Key; randomUUID exists only in secure contexts (https, localhost). */
const newKey = () => crypto.randomUUID?.() ??
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

/** The "N new posts" banner. It polls the first page for tweets newer than the newest that the
 * listing itself has served: own posts, shown early by the post box, do not move that mark, so a
 * post someone made just before one's own is still found.
 * @param {string} path @param {ReturnType<typeof tweetList>} timeline @param {Set<string>} deleted */
function newPosts(path, timeline, deleted) {
  const button = h('button', { type: 'button', class: 'banner', testid: 'new-posts', hidden: true });
  let newest = '';
  let pending = /** @type {Tweet[]} */ ([]);
  let gap = false;
  // Tweet IDs are ULIDs: compared as strings, they compare as creation times.
  const track = (/** @type {Tweet[]} */ items) => { for (const t of items) if (t.tweet_id > newest) newest = t.tweet_id; };

  async function poll() {
    const { data } = await request('GET', path, { query: { limit: 20 } });
    pending = data.items.filter((/** @type {Tweet} */ t) => t.tweet_id > newest && !timeline.has(t.tweet_id) && !deleted.has(t.tweet_id));
    // A first page of nothing but new posts may hide more behind it: then showing them reloads the list.
    gap = pending.length > 0 && pending.length === data.items.length && data.next_cursor !== null;
    const n = pending.length;
    const label = n ? `${n}${gap ? '+' : ''} new post${n === 1 ? '' : 's'}` : '';
    if (button.textContent !== label) button.textContent = label; // unchanged text is not announced again
    button.hidden = !n;
  }

  button.addEventListener('click', async () => {
    const items = pending;
    pending = [];
    say(button); // hide it
    if (gap) track(await timeline.load(true));
    else { for (const t of items) timeline.add(t, true); track(items); }
    timeline.first()?.focus();
  });

  function start() {
    let timer = 0, stopped = false;
    const tick = async () => {
      // Hidden tabs skip a turn. A failed poll waits for the next; a 401 signs out by itself.
      if (!document.hidden) await poll().catch(() => {});
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    timer = setTimeout(tick, POLL_MS);
    return () => { stopped = true; clearTimeout(timer); };
  }

  return { el: h('div', { class: 'banner-wrap', 'aria-live': 'polite' }, button), track, start };
}
