/** Receives the complete lines that a LineFramer cuts out of a byte stream. */
export interface LineHandler {
  onLine(line: string): void;
}

const NL = 0x0a;
const CR = 0x0d;

/** Returned by LineFramer.next() for a line over the limit: the connection cannot resynchronise. */
export const LINE_TOO_LONG = Symbol("lineTooLong");

/**
 * Splits newline-delimited input into lines, keeping at most one partial line buffered (plus, while
 * a consumer yields between lines, the rest of the last chunk). A line longer than `maxLineBytes`
 * (terminator excluded) is an error: the caller must drop the connection.
 *
 * Two ways to use it: push(chunk, handler) hands every complete line over at once (the miner's
 * client); append(chunk) then next() until null lets the caller stop between lines (the server
 * yields to other connections after a budget of lines, see Session.onData).
 */
export class LineFramer {
  private buf: Buffer | null = null;
  private pos = 0;
  /** ms timestamp since which an unfinished line has been waiting for its newline (0 = none). */
  partialSince = 0;

  constructor(readonly maxLineBytes: number) {}

  /** Adds received bytes. */
  append(chunk: Buffer): void {
    if (this.buf === null || this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /**
   * The next complete line (terminator and a trailing CR removed; an empty line is "", so that a
   * consumer can count it against a budget), null when only an unfinished line (or nothing) is
   * left, LINE_TOO_LONG when a line exceeds the limit.
   */
  next(): string | null | typeof LINE_TOO_LONG {
    const buf = this.buf;
    if (buf === null) return null;
    while (this.pos < buf.length) {
      const start = this.pos;
      const nl = buf.indexOf(NL, start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && buf[end - 1] === CR) end--;
      if (end - start > this.maxLineBytes) return LINE_TOO_LONG;
      this.pos = nl + 1;
      return end > start ? buf.toString("utf8", start, end) : "";
    }
    const rest = buf.length - this.pos;
    if (rest > this.maxLineBytes) return LINE_TOO_LONG;
    // Copy so that the (possibly large) socket chunk is not retained by a small slice.
    this.buf = rest === 0 ? null : Buffer.from(buf.subarray(this.pos));
    this.pos = 0;
    return null;
  }

  /** Hands every complete non-empty line to `handler`; false when a line exceeds the limit. */
  push(chunk: Buffer, handler: LineHandler): boolean {
    this.append(chunk);
    for (;;) {
      const line = this.next();
      if (line === null) return true;
      if (line === LINE_TOO_LONG) return false;
      if (line !== "") handler.onLine(line);
    }
  }

  /** Bytes held: an unfinished line, or unread lines while the consumer yields. */
  get buffered(): number {
    return this.buf === null ? 0 : this.buf.length - this.pos;
  }
}
