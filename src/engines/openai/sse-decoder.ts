/**
 * Re-assembles a server-sent-events byte stream into whole events, whatever the chunking: an
 * event, a line ending or a UTF-8 character split across TCP chunks at any byte comes out whole.
 * This is what Higress #4146 got wrong (usage lost when an event was split). Only `data` fields
 * matter to OpenAI-compatible streams; comments (`: ping`) and other fields are skipped.
 */
import { StringDecoder } from 'node:string_decoder';

const lineFeed = 10;

export class SseDecoder {
  private readonly text = new StringDecoder('utf8');
  /** An incomplete line carried over to the next chunk. */
  private pending = '';
  /** `data` lines of the event being read. */
  private data: string[] = [];
  /** The last chunk ended in `\r`: a `\n` starting the next one belongs to that line ending. */
  private carriageReturn = false;

  /** Feeds bytes; returns the `data` payloads of the events they complete, in order. */
  push(chunk: Buffer): string[] {
    return this.feed(this.text.write(chunk));
  }

  /**
   * The end of the stream. An event still open (its blank line never came) is returned too,
   * more lenient than the spec, so a server that omits the last blank line loses nothing.
   */
  end(): string[] {
    const events = this.feed(`${this.text.end()}\n`);
    if (this.data.length > 0) events.push(this.dispatch());
    return events;
  }

  private feed(text: string): string[] {
    const events: string[] = [];
    if (text === '') return events;
    let input = this.pending === '' ? text : this.pending + text;
    if (this.carriageReturn) {
      this.carriageReturn = false;
      if (input.charCodeAt(0) === lineFeed) input = input.slice(1);
    }
    let start = 0;
    let carriage = input.indexOf('\r');
    for (;;) {
      const feed = input.indexOf('\n', start);
      if (carriage !== -1 && carriage < start) carriage = input.indexOf('\r', start);
      let end: number;
      let next: number;
      if (carriage !== -1 && (feed === -1 || carriage < feed)) {
        end = carriage;
        if (carriage + 1 === input.length) {
          this.carriageReturn = true;
          next = carriage + 1;
        } else next = input.charCodeAt(carriage + 1) === lineFeed ? carriage + 2 : carriage + 1;
      } else if (feed !== -1) {
        end = feed;
        next = feed + 1;
      } else break;
      this.line(input, start, end, events);
      start = next;
    }
    this.pending = start === input.length ? '' : input.slice(start);
    return events;
  }

  private line(input: string, start: number, end: number, events: string[]): void {
    if (start === end) {
      if (this.data.length > 0) events.push(this.dispatch());
      return;
    }
    if (input.startsWith('data:', start)) {
      const valueStart = input.charCodeAt(start + 5) === 32 ? start + 6 : start + 5;
      this.data.push(input.slice(valueStart, end));
    }
    // Comments (`:`), `event:`, `id:` and `retry:` carry nothing an OpenAI stream needs.
  }

  /**
   * One event's payload. Several `data` lines are joined with a space, not the spec's newline:
   * the payload is forwarded as one `data:` line, and for JSON (every OpenAI payload) a space
   * between tokens is the same value.
   */
  private dispatch(): string {
    const payload = this.data.length === 1 ? this.data[0]! : this.data.join(' ');
    this.data = [];
    return payload;
  }
}
