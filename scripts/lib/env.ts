import { getAddress, isAddress, type Address } from "viem";

/** Bad operator input: the message names the variable; printed without a stack trace. */
export class InputError extends Error {
  override name = "InputError";
}

export type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
}

export function requireString(env: Env, name: string, what: string): string {
  const raw = value(env, name);
  if (raw === undefined) throw new InputError(`${name} is required: ${what}`);
  return raw;
}

export function optionalString(env: Env, name: string): string | undefined {
  return value(env, name);
}

export function parseAddress(name: string, raw: string): Address {
  if (!isAddress(raw, { strict: false })) throw new InputError(`${name} must be a 0x-prefixed 20-byte address, got "${raw}"`);
  return getAddress(raw);
}

export function requireAddress(env: Env, name: string, what: string): Address {
  return parseAddress(name, requireString(env, name, what));
}

export function optionalAddress(env: Env, name: string): Address | undefined {
  const raw = value(env, name);
  return raw === undefined ? undefined : parseAddress(name, raw);
}

/** A non-negative integer written in decimal (no sign, no exponent, no decimal point). */
export function parseUint(name: string, raw: string, max = (1n << 256n) - 1n): bigint {
  if (!/^[0-9]+$/.test(raw)) throw new InputError(`${name} must be a non-negative decimal integer, got "${raw}"`);
  const n = BigInt(raw);
  if (n > max) throw new InputError(`${name} must be at most ${max}, got ${raw}`);
  return n;
}

export function requireUint(env: Env, name: string, what: string, max?: bigint): bigint {
  return parseUint(name, requireString(env, name, what), max);
}

export function optionalUint(env: Env, name: string, fallback: bigint, max?: bigint): bigint {
  const raw = value(env, name);
  return raw === undefined ? fallback : parseUint(name, raw, max);
}
