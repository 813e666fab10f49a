import type { ReactNode } from 'react';
import type { CitationView } from './chat-state.js';

/**
 * An answer's text with its citations inline: a numbered marker where each `file_citation`
 * annotation's `index` falls in the text (Nimbus cites after the passage it answered from), linked
 * to the sources listed below it.
 */
export function CitedText({ text, citations }: { text: string; citations: CitationView[] }) {
  const parts: ReactNode[] = [];
  let from = 0;
  const ordered = citations.map((citation, number) => ({ citation, number: number + 1 })).sort((left, right) => left.citation.index - right.citation.index);
  for (const { citation, number } of ordered) {
    const at = Math.min(Math.max(citation.index, from), text.length);
    parts.push(text.slice(from, at));
    parts.push(
      <sup key={citation.fileId} className="cite">
        <a href={`#cite-${citation.fileId}`} aria-label={`source ${number}: ${citation.filename}`}>
          [{number}]
        </a>
      </sup>,
    );
    from = at;
  }
  parts.push(text.slice(from));
  return <>{parts}</>;
}

/** The files an answer cites, numbered in the order the server cited them. */
export function Citations({ citations }: { citations: CitationView[] }) {
  return (
    <ol className="citations" aria-label="Sources" data-testid="citations">
      {citations.map((citation) => (
        <li key={citation.fileId} id={`cite-${citation.fileId}`} title={citation.fileId}>
          {citation.filename}
        </li>
      ))}
    </ol>
  );
}
