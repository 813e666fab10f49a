/**
 * The literature assistant's post-check (issue 23): a pure function over a finished answer and the
 * passages' files the model was given. An answer that gives dosing or diagnosis advice is replaced
 * whole by a fixed refusal (its instructions forbid it too; this is the check that does not depend
 * on the model obeying). In any other answer, each claim that cites no passage it was given is
 * marked `[no cited passage]`.
 *
 * It needs the whole answer, so an app with a post-check buffers: nothing is streamed until the
 * check has passed (a stream carries the checked text at the end, not token by token).
 *
 * A claim cites a passage with a bracketed marker naming one of the files the model was given:
 * `[03-sleep-memory.md]`, `[03-sleep-memory]`, or its 1-based number in that list, `[3]`; several
 * go in one marker separated by commas or semicolons. A sentence is a claim when it is not a
 * question, a heading, a lead-in ending with a colon, or a statement that the passages do not say
 * something (which is exactly what the assistant should say when nothing supports an answer).
 */
import { findMedicalAdvice, sentencesOf, straightQuotes, type AdviceKind } from './medical-advice.js';

/** Why the check changed an answer. */
export type PostCheckReason = AdviceKind | 'uncited_claim' | 'unknown_source';

/** The verdict: `pass` (unchanged), `marked` (uncited claims marked), `replaced` (the refusal). */
export interface PostCheckResult {
  action: 'pass' | 'marked' | 'replaced';
  /** The text to send. */
  text: string;
  reasons: PostCheckReason[];
  /** The claims that cite no passage given to the model. */
  uncited: string[];
  /** The sentences that gave advice (when replaced). */
  advice: string[];
}

/** The mark put after a claim that cites nothing it was given. */
export const uncitedMark = '[no cited passage]';

/** What the literature assistant says instead of dosing or diagnosis advice. */
export const medicalAdviceRefusal =
  'I can’t give dosing or diagnosis advice. The abstracts I search describe research findings, not advice for any person; ' +
  'please ask a doctor or pharmacist about your own situation. I can summarise what the studies found, with their sources.';

const marker = /\[([^[\]]{1,200})\]|【([^【】]{1,200})】/g;
const noEvidence =
  /\b(?:no\s+(?:supporting\s+|relevant\s+|cited\s+)?(?:passage|passages|abstract|abstracts|source|sources|evidence|study|studies)|(?:do|does|did)\s+not\s+(?:say|mention|address|cover|report|test|examine|measure|support)|(?:don't|doesn't|didn't)\s+(?:say|mention|address|cover|report|test|examine|measure|support)|none\s+of\s+the\s+(?:abstracts|passages|sources|studies)|i\s+(?:could\s+not|couldn't|did\s+not|didn't|cannot|can't)\s+find|i\s+found\s+no(?:thing)?|not\s+(?:in|covered\s+by)\s+the\s+(?:abstracts|passages|sources)|(?:was|were|is|are)\s+not\s+(?:studied|tested|examined|measured|covered|mentioned))\b/i;
/** A refusal or a redirection to a person is not a claim about the literature. */
const refusal =
  /\b(?:i|we)\s+(?:can't|cannot|can\s+not|won't|will\s+not|am\s+not\s+able|am\s+unable|don't|do\s+not)\b|\bask\s+(?:a|your)\s+(?:doctor|pharmacist|clinician|gp|nurse)\b|\bonly\s+a\s+(?:doctor|pharmacist|clinician)\b|\bquestion\s+for\s+(?:a|your)\s+(?:doctor|pharmacist|clinician)\b/i;

function withoutExtension(name: string): string {
  return name.replace(/\.[A-Za-z0-9]+$/, '');
}

/** The names a marker may use for the given files: the filename, without its extension, or its number. */
function sourceNames(sources: readonly string[]): Set<string> {
  const names = new Set<string>();
  sources.forEach((source, index) => {
    names.add(source.toLowerCase());
    names.add(withoutExtension(source).toLowerCase());
    names.add(String(index + 1));
  });
  return names;
}

/** Whether a sentence makes a claim that needs a source. */
export function isClaim(sentence: string): boolean {
  const bare = straightQuotes(sentence).replace(marker, '').trim();
  if (bare.startsWith('#') || bare.endsWith('?') || bare.endsWith(':')) return false;
  if (
    bare
      .replace(/^[-*\d.)\s]+/, '')
      .split(/\s+/)
      .filter(Boolean).length < 4
  )
    return false;
  return !noEvidence.test(bare) && !refusal.test(bare);
}

/** The citation state of one sentence: cited (a known source), unknown (markers, none known), none. */
function citationOf(sentence: string, names: ReadonlySet<string>): 'cited' | 'unknown' | 'none' {
  let seen = false;
  for (const match of sentence.matchAll(marker)) {
    seen = true;
    const inside = (match[1] ?? match[2] ?? '').split(/[;,]/);
    if (inside.some((name) => names.has(name.trim().toLowerCase()))) return 'cited';
  }
  return seen ? 'unknown' : 'none';
}

/** Checks a finished answer against the files of the passages the model was given. */
export function literaturePostCheck(answer: { text: string; sources: readonly string[] }): PostCheckResult {
  const advice = findMedicalAdvice(answer.text);
  if (advice.length > 0) {
    const reasons = [...new Set(advice.map((finding) => finding.kind))];
    return { action: 'replaced', text: medicalAdviceRefusal, reasons, uncited: [], advice: advice.map((finding) => finding.sentence) };
  }
  const names = sourceNames(answer.sources);
  const reasons = new Set<PostCheckReason>();
  const uncited: string[] = [];
  let text = answer.text;
  // Sentences come in the text's order: a cursor finds each one after the last, repeats included.
  let cursor = 0;
  for (const sentence of sentencesOf(answer.text)) {
    const at = text.indexOf(sentence, cursor);
    cursor = at >= 0 ? at + sentence.length : cursor;
    if (!isClaim(sentence)) continue;
    const citation = citationOf(sentence, names);
    if (citation === 'cited') continue;
    reasons.add('uncited_claim');
    if (citation === 'unknown') reasons.add('unknown_source');
    uncited.push(sentence);
    if (at < 0) continue;
    text = `${text.slice(0, cursor)} ${uncitedMark}${text.slice(cursor)}`;
    cursor += uncitedMark.length + 1;
  }
  return { action: uncited.length > 0 ? 'marked' : 'pass', text, reasons: [...reasons], uncited, advice: [] };
}
