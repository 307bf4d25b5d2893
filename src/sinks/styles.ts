/**
 * The few terminal styles the sinks use, written as chalk writes them at its 16-colour level (SGR open,
 * text, SGR close; nested styles close innermost first), or the text as it is when colours are off.
 * chalk itself cost every start ~2 ms to load (and, through its terminal detection, node:tty and net).
 * The styled texts here (times, numbers, headings, states) hold no escapes or line breaks, which
 * chalk would treat specially.
 */
export interface Styles {
  readonly bold: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
}

export function styles(on: boolean): Styles {
  const style = (open: number, close: number) => (text: string) => (on && text !== '' ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { bold: style(1, 22), green: style(32, 39), yellow: style(33, 39), cyan: style(36, 39) };
}
