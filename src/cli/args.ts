import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses a subcommand's flags; unknown flags and missing values become a UsageError naming them. */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: false, strict: true }).values as {
      [K in keyof O]?: O[K] extends { type: "boolean" } ? boolean : string;
    } & { help?: boolean };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing required flag --${flag}`);
  return value;
}
