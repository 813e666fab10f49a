/**
 * The post-checks an app may name in its config (`post_check`): deterministic checks of a
 * finished answer, run by the server on every answer of the app (decision 0015, "Post-checks").
 * A check sees the whole text and the files of the passages the model was given, and says whether
 * to send it as it is, with marks, or replaced by its fixed refusal. docs/extending.md, "Add a
 * post-check", shows how to add one.
 */
import { literaturePostCheck } from './literature-post-check.js';

/** What a check decided about one answer. */
export interface PostCheckVerdict {
  /** `pass`: unchanged; `marked`: sent with marks added; `replaced`: the check's refusal instead. */
  action: 'pass' | 'marked' | 'replaced';
  /** The text to send. */
  text: string;
  /** Why it was changed (empty for `pass`). */
  reasons: string[];
}

/** A named check: pure, so the same answer always gets the same verdict. */
export interface PostCheck {
  /** One line for people: what it refuses or marks (GET /v1/apps/NAME shows it). */
  description: string;
  /** `sources`: the filenames of the passages the model was given, in the order it got them. */
  check(answer: { text: string; sources: readonly string[] }): PostCheckVerdict;
}

/** Every check by the name an app's config uses. */
export const postChecks: Readonly<Record<string, PostCheck>> = {
  literature: {
    description:
      'The literature assistant’s: an answer with dosing or diagnosis advice is replaced by a fixed refusal; a claim citing no passage it was given is marked [no cited passage].',
    check: literaturePostCheck,
  },
};

/** The check of that name, or undefined. */
export function postCheckNamed(name: string): PostCheck | undefined {
  return Object.hasOwn(postChecks, name) ? postChecks[name] : undefined;
}
