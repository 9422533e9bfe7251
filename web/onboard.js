/* Getting in: the sign-in page (local or Cognito) and the "create your profile" form. */
import { request, explain, seg, ApiError } from './api.js';
import { localSignIn, startCognito } from './auth.js';
import { h, say, errorArea, field } from './views.js';
import { isUserId } from './rules.js';

const noAutofix = { spellcheck: 'false', autocapitalize: 'none' };

/**
 * @param {HTMLElement} view
 * @param {{config: any, notice?: string, onSignedIn: (s: import('./auth.js').Session) => void}} o
 */
export function signInPage(view, { config, notice, onSignedIn }) {
  view.append(h('h2', { tabindex: '-1' }, 'Sign in'), notice && h('p', { class: 'error', role: 'alert', testid: 'notice' }, notice));
  if (config.mode === 'cognito') {
    const error = errorArea('signin-error');
    const go = h('button', { type: 'button', testid: 'signin-button' }, 'Sign in');
    go.addEventListener('click', () => startCognito(config.cognito).catch((e) => say(error, `Could not start signing in: ${e.message}`)));
    return view.append(h('p', {}, 'You will be taken to the sign-in page, and brought back here.'), go, error);
  }
  const f = field({ id: 'signin-user-id', label: 'User ID', testid: 'signin-user-id', errorTestid: 'error',
    hint: 'Local mode: any ID of 1 to 128 letters, digits and - _ . : @', autocomplete: 'username', ...noAutofix });
  const form = h('form', { novalidate: true }, f.el, h('button', { type: 'submit', testid: 'signin-button' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = f.input.value.trim();
    // A token for an impossible ID would be refused by every route (401): say so before asking.
    f.set(isUserId(id) ? '' : 'Use 1 to 128 characters: letters, digits, and - _ . : @ only.');
    if (!isUserId(id)) return f.input.focus();
    try { onSignedIn(await localSignIn(id)); } catch (e) { f.set(explain(e)); }
  });
  view.append(form);
}

/**
 * The form for POST /users. A 400 names its field, so its message goes next to that field.
 * @param {HTMLElement} view @param {{userId: string, onCreated: (u: import('./api.js').User) => void}} o
 */
export function createProfilePage(view, { userId, onCreated }) {
  const user = field({ id: 'profile-username', label: 'Username', testid: 'profile-form-username', autocomplete: 'username',
    hint: '1 to 15 letters (A-Z), digits or underscores. It cannot be changed later.', ...noAutofix });
  const name = field({ id: 'profile-display-name', label: 'Display name (optional)', testid: 'profile-form-display-name',
    hint: 'Up to 50 characters.', autocomplete: 'name' });
  const error = errorArea('profile-form-error');
  const form = h('form', { novalidate: true }, user.el, name.el,
    h('button', { type: 'submit', testid: 'profile-form-submit' }, 'Create profile'), error);
  /** @type {Record<string, ReturnType<typeof field>>} */
  const fields = { username: user, display_name: name };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const f of Object.values(fields)) f.set();
    say(error);
    try {
      const { data } = await request('POST', '/users', { body: { username: user.input.value.trim(), display_name: name.input.value } });
      return onCreated(data);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        // Either the name is taken or this user made a profile meanwhile (in another tab): look.
        const mine = await request('GET', `/users/${seg(userId)}`).catch(() => null);
        if (mine) return onCreated(mine.data);
        user.set('That username is taken. Try another.');
        return user.input.focus();
      }
      const target = e instanceof ApiError && e.code === 'validation_failed' && e.field ? fields[e.field] : undefined;
      if (!target) return say(error, explain(e));
      target.set(e.detail);
      target.input.focus();
    }
  });
  view.append(h('h2', { tabindex: '-1' }, 'Create your profile'),
    h('p', {}, 'Choose how others will find you. You can post once your profile exists.'), form);
}
