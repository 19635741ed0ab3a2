/**
 * Reads an epoch file's header (everything but its leaves) without reading a million leaves: the
 * canonical layout (src/epochs/format.ts) puts the header first, then `"leaves": [` on its own line.
 */
import fs from "node:fs";
import { EpochFormatError, parseEpochFile, type EpochHeader } from "../epochs/format";

const MARK = ',\n  "leaves": [';

export function readEpochHeader(file: string): EpochHeader {
  const fd = fs.openSync(file, "r");
  try {
    let text = "";
    const buf = Buffer.alloc(1 << 16);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) throw new EpochFormatError(`epoch file ${file}: no leaves section`);
      pos += n;
      text += buf.subarray(0, n).toString("latin1");
      const at = text.indexOf(MARK);
      if (at >= 0) {
        const head = JSON.parse(Buffer.from(text.slice(0, at), "latin1").toString("utf8") + "\n}") as Record<string, unknown>;
        const { leaves: _none, ...header } = parseEpochFile(JSON.stringify({ ...head, leaves: [] }));
        return header;
      }
      if (text.length > 64 << 20) throw new EpochFormatError(`epoch file ${file}: header larger than 64 MiB`);
    }
  } finally {
    fs.closeSync(fd);
  }
}
