import { isAddress } from "viem";

/** Why `text` is not a usable payout address, or null when it is one. */
export function addressProblem(text: string | undefined): string | null {
  const value = (text ?? "").trim();
  if (!value) return "Enter a payout address (0x followed by 40 hex digits).";
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) {
    return `"${value}" is not an EVM address: it must be 0x followed by 40 hexadecimal digits (your miner's user name without the ".worker" part).`;
  }
  if (!isAddress(value)) return `"${value}" has a wrong checksum (mixed upper and lower case that does not match): check it for a typo, or type it in lower case.`;
  return null;
}
