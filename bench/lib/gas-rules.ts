/**
 * EVM gas rules used by the benchmarks to state floors explicitly (Berlin access lists, EIP-2200 /
 * EIP-3529 storage pricing, EIP-2028 calldata, EIP-7623 calldata floor from Prague on). Figures are
 * those of the yellow paper / EIPs, unchanged through Osaka.
 */

export const TX_BASE = 21_000;
/** Calldata, EIP-2028. */
export const CALLDATA_ZERO_BYTE = 4;
export const CALLDATA_NONZERO_BYTE = 16;
/** EIP-7623 (Prague+): a transaction pays at least TX_BASE + this × tokens (zero byte = 1 token, non-zero = 4). */
export const EIP7623_COST_PER_TOKEN = 10;

/** EIP-2929. */
export const COLD_SLOAD = 2_100;
export const WARM_ACCESS = 100;
export const COLD_ACCOUNT_ACCESS = 2_600;
/** EIP-2200 with EIP-2929 (the cold surcharge is added on the first touch of the slot). */
export const SSTORE_SET = 20_000; // clean slot, 0 -> nonzero
export const SSTORE_RESET = 2_900; // clean slot, nonzero -> nonzero (5 000 - COLD_SLOAD)
/** CALL with a non-zero value; the callee gets a 2 300 stipend on top, returned when unused (an EOA uses none). */
export const CALL_VALUE = 9_000;
export const CALL_STIPEND = 2_300;
export const NEW_ACCOUNT = 25_000;
/** LOG: 375 + 375 per topic + 8 per data byte (memory expansion aside). */
export const LOG_BASE = 375;
export const LOG_TOPIC = 375;
export const LOG_DATA_BYTE = 8;

/** A first write of a cold slot: read cold, then write. */
export const coldSstore = (fromZero: boolean) => COLD_SLOAD + (fromZero ? SSTORE_SET : SSTORE_RESET);

export const logGas = (topics: number, dataBytes: number) => LOG_BASE + LOG_TOPIC * topics + LOG_DATA_BYTE * dataBytes;

export interface CalldataCost {
  bytes: number;
  zero: number;
  nonZero: number;
  /** 4 per zero byte + 16 per non-zero byte. */
  gas: number;
  /** EIP-7623 tokens: zero bytes + 4 × non-zero bytes. */
  tokens: number;
}

export function calldataCost(input: string | Uint8Array): CalldataCost {
  const bytes = typeof input === "string" ? Buffer.from(input.startsWith("0x") ? input.slice(2) : input, "hex") : input;
  let zero = 0;
  for (const b of bytes) if (b === 0) zero++;
  const nonZero = bytes.length - zero;
  return { bytes: bytes.length, zero, nonZero, gas: CALLDATA_ZERO_BYTE * zero + CALLDATA_NONZERO_BYTE * nonZero, tokens: zero + 4 * nonZero };
}

/** Hardforks from Prague on charge the EIP-7623 calldata floor. */
export function hasCalldataFloor(hardfork: string): boolean {
  return ["prague", "osaka"].includes(hardfork.toLowerCase());
}

/** EIP-7623: the least gas a transaction with this calldata pays (0 before Prague). */
export function calldataFloor(input: string | Uint8Array, hardfork: string): number {
  return hasCalldataFloor(hardfork) ? TX_BASE + EIP7623_COST_PER_TOKEN * calldataCost(input).tokens : 0;
}
