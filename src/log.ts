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
