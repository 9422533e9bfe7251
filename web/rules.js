/* The API's input rules (docs/API.md, "Conventions" and "Validation") that the client checks
   itself. The server stays the authority: whatever it refuses is shown as it answers. */

/** Tweet text limit, in Unicode scalar values. */
export const TWEET_MAX = 280;
/** Characters as the API counts them: Unicode scalar values. The string iterator walks code points,
 * so "é" and "😀" count 1 each, where .length (UTF-16 units) says 2 for the emoji. @param {string} text */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
/** A user ID: 1 to 128 of A-Z a-z 0-9 - _ . : @ */
export const isUserId = (/** @type {string} */ s) => /^[A-Za-z0-9._:@-]{1,128}$/.test(s);
/** A username: 1 to 15 of A-Z a-z 0-9 _ */
export const isUsername = (/** @type {string} */ s) => /^[A-Za-z0-9_]{1,15}$/.test(s);
