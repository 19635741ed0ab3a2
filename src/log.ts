/** The part of a pino logger the background services use (pino's Logger satisfies it). */
export interface ServiceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** viem errors carry a one-line shortMessage; everything else its message. */
export function errorText(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return e?.shortMessage ?? e?.message ?? String(err);
}

/** Numeric pino levels and the names a person reads. */
const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const LEVEL_COLORS: Record<number, string> = { 10: "\x1b[90m", 20: "\x1b[36m", 30: "\x1b[32m", 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[35m" };
const SKIPPED = new Set(["level", "time", "pid", "hostname", "msg", "part"]);

/**
 * One pino JSON line as a line for a person: `HH:MM:SS.mmm LEVEL [part] message key=value …`
 * (values JSON-encoded only when they contain spaces or quotes). Lines that are not JSON pass through.
 */
export function prettyLine(json: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    return json;
  }
  const level = Number(o.level);
  const time = typeof o.time === "number" ? new Date(o.time).toISOString().slice(11, 23) : "";
  const name = (LEVEL_NAMES[level] ?? String(o.level)).padEnd(5);
  const fields = Object.entries(o)
    .filter(([k]) => !SKIPPED.has(k))
    .map(([k, v]) => {
      const s = typeof v === "string" ? v : JSON.stringify(v);
      return `${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
    });
  const head = color ? `${LEVEL_COLORS[level] ?? ""}${name}\x1b[0m` : name;
  return [time, head, o.part ? `[${o.part}]` : "", o.msg ?? "", ...fields].filter((x) => x !== "").join(" ");
}

/** Chooses the log format: pretty on a terminal unless forced (`log.format`, `--log-format`). */
export function wantsPretty(format: "auto" | "pretty" | "json", stream: { isTTY?: boolean } = process.stdout): boolean {
  return format === "pretty" || (format === "auto" && stream.isTTY === true);
}

/** A pino destination that writes prettyLine() of each record to `out` (stdout by default). */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): { write(chunk: string): void } {
  const color = out.isTTY === true && !process.env.NO_COLOR;
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) if (line) out.write(prettyLine(line, color) + "\n");
    },
  };
}
