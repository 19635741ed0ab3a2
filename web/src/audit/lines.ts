/**
 * Splits streamed text into lines exactly as `pool audit` reads files (Node's readline with
 * crlfDelay: Infinity): LF, CRLF and a lone CR each end a line; a last line without a break
 * counts when it is not empty. So the browser audit's line numbers and findings are the CLI's.
 */
const BREAK = /\r?\n|\r(?!\n)/;

export class LineSplitter {
  private carry = "";

  /** The complete lines in `text` (after what came before); a line still open is kept. */
  push(text: string): string[] {
    const all = this.carry + text;
    // Cut after the last LF only: a CR at the end may be the first half of a CRLF.
    const cut = all.lastIndexOf("\n");
    if (cut < 0) {
      this.carry = all;
      return [];
    }
    this.carry = all.slice(cut + 1);
    const lines = all.slice(0, cut + 1).split(BREAK);
    lines.pop(); // the "" after the final LF
    return lines;
  }

  /** The lines left at the end of the stream. */
  end(): string[] {
    const rest = this.carry;
    this.carry = "";
    if (rest === "") return [];
    const lines = rest.split(BREAK);
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
  }
}
