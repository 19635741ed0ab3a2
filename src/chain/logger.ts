/** The subset of a pino logger the template sources use (pino's `(fields, message)` call form). */
export interface ChainLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  debug?(fields: object, message: string): void;
}

export const silentLogger: ChainLogger = {
  info() {},
  warn() {},
  error() {},
};
