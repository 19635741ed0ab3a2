/** Receives the complete lines that a LineFramer cuts out of a byte stream. */
export interface LineHandler {
  onLine(line: string): void;
}

const NL = 0x0a;
const CR = 0x0d;

/**
 * Splits newline-delimited input into lines, keeping at most one partial line buffered.
 * A line longer than `maxLineBytes` (terminator excluded) makes push() return false: the caller
 * must drop the connection, since there is no way to resynchronise mid-line.
 */
export class LineFramer {
  private partial: Buffer | null = null;

  constructor(readonly maxLineBytes: number) {}

  push(chunk: Buffer, handler: LineHandler): boolean {
    let data = chunk;
    if (this.partial !== null) {
      data = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let start = 0;
    const len = data.length;
    while (start < len) {
      const nl = data.indexOf(NL, start);
      if (nl === -1) {
        if (len - start > this.maxLineBytes) return false;
        // Copy so that the (possibly large) socket chunk is not retained by a small slice.
        this.partial = Buffer.from(data.subarray(start));
        return true;
      }
      let end = nl;
      if (end > start && data[end - 1] === CR) end--;
      if (end - start > this.maxLineBytes) return false;
      if (end > start) handler.onLine(data.toString("utf8", start, end));
      start = nl + 1;
    }
    return true;
  }

  /** Bytes of an unfinished line held. */
  get buffered(): number {
    return this.partial === null ? 0 : this.partial.length;
  }
}
