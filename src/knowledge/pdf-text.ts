/**
 * A PDF's text, page by page, with unpdf (PDF.js built for servers, no native parts; 1.7.0 is its
 * last release that runs on Node 20). A file PDF.js cannot read, an encrypted one, and one with no
 * text layer (a scan) fail with a reason, before anything of it is written.
 */
import { extractText, getDocumentProxy } from 'unpdf';
import { FileParseError } from './parse-error.js';

/** Whether the bytes start as a PDF does (`%PDF-`), whatever the file is called. */
export function looksLikePdf(bytes: Uint8Array): boolean {
  return bytes.length >= 5 && bytes[0] === 0x25 && bytes[1] === 0x50 && bytes[2] === 0x44 && bytes[3] === 0x46 && bytes[4] === 0x2d;
}

/** The text of every page, pages apart by a blank line. */
export async function pdfText(bytes: Uint8Array, filename: string): Promise<string> {
  let document: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    // PDF.js takes the buffer over (it may detach it): it gets a copy. Verbosity 0: errors only, no warnings on stdout.
    document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
    const { text } = await extractText(document, { mergePages: false });
    const pages = text.map((page) => page.trim()).filter((page) => page.length > 0);
    if (pages.length === 0) {
      throw new FileParseError(
        'unsupported_file',
        `'${filename}' has no text layer (a scanned PDF?); it needs text recognition first, which Nimbus does not do.`,
      );
    }
    return pages.join('\n\n');
  } catch (error) {
    if (error instanceof FileParseError) throw error;
    const name = (error as Error).name;
    if (name === 'PasswordException') throw new FileParseError('invalid_file', `'${filename}' is an encrypted PDF; upload it without its password.`);
    throw new FileParseError('invalid_file', `'${filename}' is not a readable PDF (${(error as Error).message}); check that the upload is complete.`);
  } finally {
    await document?.destroy();
  }
}
