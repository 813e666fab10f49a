/**
 * A file's bytes to the text that is chunked and indexed: plain text, Markdown, JSON, CSV and
 * source code as they are (UTF-8); HTML as its visible text (htmlparser2: scripts, styles and
 * tags dropped, blocks on lines of their own); PDF as its pages' text (pdf-text.ts). Anything
 * else fails with `unsupported_file`, and text that is not valid UTF-8 or a broken PDF with
 * `invalid_file`, so nothing half-read is indexed.
 */
import { Parser } from 'htmlparser2';
import { FileParseError } from './parse-error.js';
import { looksLikePdf, pdfText } from './pdf-text.js';

export { FileParseError } from './parse-error.js';

const textExtensions = new Set(['txt', 'md', 'markdown', 'mdx', 'rst', 'csv', 'tsv', 'json', 'jsonl', 'xml', 'yaml', 'yml', 'log', 'tex', 'ini', 'toml']);
const codeExtensions = new Set([
  'c',
  'cc',
  'cpp',
  'h',
  'hpp',
  'cs',
  'go',
  'java',
  'js',
  'mjs',
  'cjs',
  'ts',
  'tsx',
  'jsx',
  'py',
  'rb',
  'php',
  'rs',
  'sh',
  'sql',
  'css',
  'kt',
  'swift',
]);
const htmlExtensions = new Set(['html', 'htm', 'xhtml']);
const binaryExtensions = new Set(['docx', 'doc', 'pptx', 'xlsx', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'zip', 'gz', 'tar', 'mp3', 'mp4', 'wav']);
const blockTags = new Set([
  'p',
  'div',
  'br',
  'li',
  'tr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'section',
  'article',
  'pre',
  'blockquote',
  'table',
  'ul',
  'ol',
  'header',
  'footer',
]);

function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot < 0 ? '' : filename.slice(dot + 1).toLowerCase();
}

/** Strict UTF-8, without the NUL bytes that mark a binary file. */
function decodeText(bytes: Uint8Array, filename: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileParseError('invalid_file', `'${filename}' is not valid UTF-8 text; save it as UTF-8 and upload it again.`);
  }
  if (text.includes('\u0000'))
    throw new FileParseError('unsupported_file', `'${filename}' looks binary (it holds NUL bytes); upload text, Markdown, HTML or PDF.`);
  return text.startsWith('\ufeff') ? text.slice(1) : text;
}

/** The visible text of an HTML document. */
export function htmlText(html: string): string {
  const parts: string[] = [];
  let hidden = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'script' || name === 'style' || name === 'noscript' || name === 'template') hidden += 1;
        else if (blockTags.has(name)) parts.push('\n');
      },
      ontext(text) {
        if (hidden === 0) parts.push(text);
      },
      onclosetag(name) {
        if (name === 'script' || name === 'style' || name === 'noscript' || name === 'template') hidden = Math.max(0, hidden - 1);
        else if (blockTags.has(name)) parts.push('\n');
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return parts
    .join('')
    .replace(/[ \t\f\v\r]+/g, ' ')
    .replace(/ *\n[ \n]*/g, '\n')
    .trim();
}

/** The text of a file to index; rejects with FileParseError for what cannot be read. */
export async function parseFile(bytes: Uint8Array, filename: string): Promise<string> {
  const extension = extensionOf(filename);
  if (extension === 'pdf' || looksLikePdf(bytes)) return pdfText(bytes, filename);
  if (binaryExtensions.has(extension)) {
    throw new FileParseError(
      'unsupported_file',
      `'${filename}': .${extension} files cannot be indexed yet; upload text, Markdown, HTML, PDF, JSON, CSV or source code.`,
    );
  }
  const text = decodeText(bytes, filename);
  if (htmlExtensions.has(extension) || (!textExtensions.has(extension) && !codeExtensions.has(extension) && /^\s*<(!doctype html|html)[\s>]/i.test(text))) {
    return htmlText(text);
  }
  return text;
}
