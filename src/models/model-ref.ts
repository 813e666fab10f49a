/**
 * Model references: what a user types to name a model. Either a path to a GGUF file, or a file
 * in a Hugging Face repository (`hf:OWNER/REPO[@REVISION]/FILE.gguf`). Parsing is strict so a
 * typo fails here, with the accepted forms, instead of as a 404 after a network round trip.
 */
import { fileURLToPath } from 'node:url';

/** A GGUF file on this machine. */
export interface FileModelRef {
  kind: 'file';
  /** As given: relative paths resolve against the working directory when used. */
  path: string;
}

/** A file in a Hugging Face model repository at a revision. */
export interface HfModelRef {
  kind: 'hf';
  owner: string;
  repo: string;
  /** A branch, tag or commit hash; `main` when the reference names none. */
  revision: string;
  /** Path of the file inside the repository, `/`-separated; may name a subfolder. */
  file: string;
}

/** A parsed model reference. */
export type ModelRef = FileModelRef | HfModelRef;

/** The revision used when a Hugging Face reference names none. */
export const defaultRevision = 'main';

const example = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf';
const acceptedForms = `Use a path to a .gguf file, hf:OWNER/REPO/FILE.gguf, or hf:OWNER/REPO@REVISION/FILE.gguf (e.g. ${example}).`;

// Hugging Face names: letters, digits, '-', '_', '.', starting with a letter or digit, so '.' and
// '..' can never appear as a path segment of the cache.
const namePattern = /^[A-Za-z0-9][\w.-]{0,95}$/;
// Branch names may hold '/', but then the reference would be ambiguous; tags and commits do not.
const revisionPattern = /^[A-Za-z0-9][\w.-]{0,127}$/;
const hubUrlPattern = /^https?:\/\/(?:www\.)?(?:huggingface\.co|hf\.co)\/([^/]+)\/([^/]+)\/(?:resolve|blob)\/([^/]+)\/([^?#]+)/i;

/** A model reference that cannot be parsed; the message lists the accepted forms. */
export class ModelRefError extends Error {
  override name = 'ModelRefError';

  constructor(text: string, problem: string) {
    super(`Invalid model reference '${text}': ${problem}. ${acceptedForms}`);
  }
}

/** Parses a model reference; throws ModelRefError naming the problem and the accepted forms. */
export function parseModelRef(text: string): ModelRef {
  const trimmed = text.trim();
  if (trimmed === '') throw new ModelRefError(text, 'it is empty');
  if (trimmed.includes('\0')) throw new ModelRefError(text, 'it contains a NUL character');
  if (/^hf:/i.test(trimmed)) return parseHfRef(text, trimmed.slice(3));
  if (/^file:\/\//i.test(trimmed)) return { kind: 'file', path: fileURLToPath(trimmed) };
  const hubUrl = hubUrlPattern.exec(trimmed);
  if (hubUrl) {
    const [, owner, repo, revision, file] = hubUrl;
    const suggestion = `hf:${owner}/${repo}${revision === defaultRevision ? '' : `@${revision}`}/${file}`;
    throw new ModelRefError(text, `Hugging Face URLs are not accepted; write it as ${suggestion}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new ModelRefError(text, 'URLs are not accepted; download the file and give its path');
  return { kind: 'file', path: trimmed };
}

function parseHfRef(text: string, body: string): HfModelRef {
  if (body.startsWith('//')) throw new ModelRefError(text, `write hf: without '//', as hf:${body.slice(2)}`);
  const [owner, repoAndRevision, ...fileSegments] = body.split('/');
  if (!owner) throw new ModelRefError(text, 'the repository owner is missing after hf:');
  if (!namePattern.test(owner)) throw new ModelRefError(text, `'${owner}' is not a valid owner (letters, digits, '-', '_', '.')`);
  if (!repoAndRevision) throw new ModelRefError(text, 'the repository name is missing after the owner');
  const at = repoAndRevision.indexOf('@');
  const repo = at === -1 ? repoAndRevision : repoAndRevision.slice(0, at);
  const revision = at === -1 ? defaultRevision : repoAndRevision.slice(at + 1);
  if (repo.includes(':'))
    throw new ModelRefError(text, `tags such as '${repo.slice(repo.indexOf(':'))}' are not supported; name the .gguf file in the repository`);
  if (!namePattern.test(repo)) throw new ModelRefError(text, `'${repo}' is not a valid repository name (letters, digits, '-', '_', '.')`);
  if (revision === 'refs') throw new ModelRefError(text, "revisions with '/' such as refs/pr/1 are not supported; give the commit hash after '@'");
  if (!revisionPattern.test(revision)) {
    throw new ModelRefError(text, `'${revision}' is not a valid revision: give a branch, tag or commit hash without '/' after '@'`);
  }
  if (fileSegments.length === 0 || fileSegments.every((segment) => segment === '')) {
    throw new ModelRefError(text, `it names the repository ${owner}/${repo} but no file; a repository holds several quantizations, so add the file name`);
  }
  for (const segment of fileSegments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('\\') || /[\x00-\x1f]/.test(segment)) {
      throw new ModelRefError(text, `the file path '${fileSegments.join('/')}' has an empty, '.', '..' or backslash segment`);
    }
  }
  const file = fileSegments.join('/');
  if (!/\.gguf$/i.test(file)) throw new ModelRefError(text, `'${file}' is not a .gguf file; Nimbus serves GGUF models`);
  return { kind: 'hf', owner, repo, revision, file };
}

/** The canonical text of a reference: `hf:` refs omit `@main`; `parseModelRef` reads it back. */
export function formatModelRef(ref: ModelRef): string {
  if (ref.kind === 'file') return ref.path;
  const revision = ref.revision === defaultRevision ? '' : `@${ref.revision}`;
  return `hf:${ref.owner}/${ref.repo}${revision}/${ref.file}`;
}
