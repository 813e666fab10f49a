/**
 * What the CLI prints comes partly from a server: key, tenant and device names, error messages.
 * A name holding terminal control sequences (ESC [ ... to recolour, move the cursor, clear the
 * screen, set the window title) would act on the operator's terminal, or hide a line. So every
 * control character the CLI prints, but newline and tab, is shown as an escape instead.
 */

/** C0 and C1 controls (newline and tab kept), DEL, and the bidirectional overrides that reorder text on screen. */
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each control character written as `\\uXXXX`. */
export function terminalSafe(text: string): string {
  return text.replace(controls, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Makes console.log, console.error and console.warn print strings through `terminalSafe` (the CLI's output). */
export function installTerminalSafeConsole(): void {
  for (const name of ['log', 'error', 'warn'] as const) {
    const original = console[name].bind(console);
    console[name] = (...args: unknown[]) => original(...args.map((arg) => (typeof arg === 'string' ? terminalSafe(arg) : arg)));
  }
}
