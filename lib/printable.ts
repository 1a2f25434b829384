/**
 * Text for a terminal or a log reader. A terminal obeys control characters: ESC and the
 * 8-bit CSI start sequences that retitle the window, clear the screen or move the cursor,
 * and a newline (or a Unicode line separator) starts what looks like a log line of its own.
 * Names, types and function names are refused at registration when they hold one
 * (bgworker/sanity.ts); text that cannot be refused — what workers log, report as their
 * activity, or throw — is escaped by everything that prints it for a person: the console
 * logger, formatActivity and the CLI's table view. The JSON view writes these characters as
 * JSON \u escapes instead, so a JSON reader still gets the exact text.
 *
 * Control characters here: C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F), and the
 * line and paragraph separators U+2028 and U+2029.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Whether `s` holds a control character. */
export function hasControlCharacters(s: string): boolean {
  return CONTROL.test(s);
}

/** `s` with every control character written out: \n, \r, \t, \xHH, or \u2028 and \u2029. */
export function printable(s: string): string {
  return s.replace(CONTROL_ALL, escape);
}

/** Every control character as a JSON \u escape: `json` parses to the same value, and prints safely. */
export function jsonPrintable(json: string): string {
  // JSON.stringify escapes C0 itself; outside strings JSON has no such characters at all.
  return json.replace(CONTROL_ALL, (c) => `\\u${hex(c, 4)}`);
}

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return SHORT[c] ?? (code < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`);
}

function hex(c: string, digits: number): string {
  return c.charCodeAt(0).toString(16).padStart(digits, '0');
}
