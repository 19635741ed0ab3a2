import { ApiError, ApiUnreachableError } from "./api/client";

/** Walks an error's `cause` chain (viem wraps the wallet's and the node's errors several times). */
export function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = error;
  while (e && out.length < 10 && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** The first numeric EIP-1193 / JSON-RPC error code in the chain (4001 rejected, 4902 unknown chain…). */
export function errorCode(error: unknown): number | undefined {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
    const inner = (e as { data?: { originalError?: { code?: unknown } } }).data?.originalError?.code;
    if (typeof inner === "number") return inner;
  }
  return undefined;
}

function named(error: unknown, ...names: string[]): boolean {
  return causes(error).some((e) => names.includes((e as { name?: string }).name ?? ""));
}

/** A message for a person: what went wrong and, where possible, what to do. */
export function describeError(error: unknown): string {
  if (error instanceof ApiUnreachableError) return error.message;
  if (error instanceof ApiError) return `The pool's API refused the request: ${error.reason}.`;
  if ((error as { name?: string }).name === "WrongChainError") {
    const cause = (error as Error).cause;
    return `${(error as Error).message}${cause ? ` The wallet answered: ${describeError(cause)}` : ""}`;
  }
  const code = errorCode(error);
  if (code === 4001 || named(error, "UserRejectedRequestError")) return "You rejected the request in your wallet. Nothing was sent.";
  if (code === 4100) return "The wallet has not authorised this page: connect it first.";
  if (code === -32002) return "Your wallet already has a request waiting: open it and answer that first.";
  if (named(error, "ChainMismatchError")) return "Your wallet is on another chain than the pool's. Switch it to the pool's chain and try again.";
  if (named(error, "HttpRequestError", "TimeoutError")) {
    return "The chain's JSON-RPC node is not reachable (or did not answer in time), so nothing could be read or sent. Try again when it is back.";
  }
  const reverted = causes(error).find((e) => (e as { name?: string }).name === "ContractFunctionRevertedError") as
    | { data?: { errorName?: string; args?: readonly unknown[] }; reason?: string }
    | undefined;
  if (reverted?.data?.errorName) return `The contract refused it: ${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")}).`;
  if (reverted?.reason) return `The contract refused it: ${reverted.reason}.`;
  const short = (error as { shortMessage?: string }).shortMessage;
  if (short) return short;
  return error instanceof Error ? error.message : String(error);
}
