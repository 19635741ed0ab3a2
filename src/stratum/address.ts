import { keccak256, toBytes } from "viem";

export interface ParsedUsername {
  /** Lower-case 0x address (the canonical form committed in coinb1 and credited). */
  address: string;
  worker: string;
}

const MAX_WORKER_LENGTH = 64;
const WORKER_RE = /^[\x21-\x7e]*$/;

/** EIP-55 checksum form of a lower-case 40-hex-digit body. */
function checksummed(lowerBody: string): string {
  const hash = keccak256(toBytes(lowerBody)).slice(2);
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const c = lowerBody[i];
    out += parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/**
 * Validates a payout address: 0x + 40 hex digits, either all one case or EIP-55 checksummed.
 * Returns the lower-case form, or throws an Error whose message says what is wrong.
 */
export function parseAddress(input: string): string {
  if (!input.startsWith("0x") && !input.startsWith("0X")) {
    throw new Error(`payout address must start with 0x (got "${clip(input)}")`);
  }
  const body = input.slice(2);
  if (!/^[0-9a-fA-F]*$/.test(body)) throw new Error(`payout address is not hex: "${clip(input)}"`);
  if (body.length !== 40) throw new Error(`payout address has bad length: ${body.length} hex digits, expected 40`);
  const lower = body.toLowerCase();
  const upper = body.toUpperCase();
  if (body !== lower && body !== upper && checksummed(lower) !== "0x" + body) {
    throw new Error("payout address has a bad checksum (EIP-55); use the checksummed or all-lower-case form");
  }
  return "0x" + lower;
}

/** Splits a Stratum username `0xADDRESS[.worker]` and validates both parts. */
export function parseUsername(username: unknown): ParsedUsername {
  if (typeof username !== "string" || username.length === 0) {
    throw new Error("username must be your EVM payout address, optionally followed by .workername");
  }
  const dot = username.indexOf(".");
  const addressPart = dot === -1 ? username : username.slice(0, dot);
  const worker = dot === -1 ? "" : username.slice(dot + 1);
  const address = parseAddress(addressPart);
  if (worker.length > MAX_WORKER_LENGTH) throw new Error(`worker name longer than ${MAX_WORKER_LENGTH} characters`);
  if (!WORKER_RE.test(worker)) throw new Error("worker name may contain only printable ASCII without spaces");
  return { address, worker };
}

function clip(s: string): string {
  return s.length > 50 ? s.slice(0, 47) + "..." : s;
}

const ZERO_ADDRESS = "0x" + "0".repeat(40);

/**
 * Why a payout address can never be paid, or undefined when it can: the zero address (funds sent
 * there are burnt), the EVM precompiles 0x01..0x11 (Ethereum's through Prague, whose calls do not
 * keep a balance their owner could spend) and 0x100 (P256VERIFY, RIP-7212), and `refused` (the
 * PayoutPool contract itself, which would pay itself). `address` is lower-case 0x hex.
 */
export function unpayableReason(address: string, refused: ReadonlySet<string>): string | undefined {
  if (address === ZERO_ADDRESS) return "the zero address cannot be paid (funds sent there are burnt); use your own address";
  if (address.startsWith("0x" + "0".repeat(37))) {
    const n = parseInt(address.slice(39), 16);
    if ((n >= 0x01 && n <= 0x11) || n === 0x100) return `${address} is an EVM precompile and cannot receive payouts; use your own address`;
  }
  if (refused.has(address)) return `${address} is the pool's own contract and cannot be paid; use your own address`;
  return undefined;
}
