import { BaseError, ContractFunctionRevertedError } from "viem";

/** The outcome of simulating (estimating) a claimMany. */
export type Simulation = { ok: true; gas: bigint } | { ok: false; reason: string };

/**
 * Runs `estimate` (an `eth_estimateGas` of the call) and tells a revert of the call itself, which
 * names a failing claim (`{ ok: false, reason }`: the decoded custom error with its arguments, a
 * revert string, the raw revert data, or the node's revert message), from any other failure (node
 * unreachable, bad response), which is rethrown: only a revert may set an account aside.
 */
export async function simulate(estimate: () => Promise<bigint>): Promise<Simulation> {
  try {
    return { ok: true, gas: await estimate() };
  } catch (err) {
    const reason = revertReason(err);
    if (reason === undefined) throw err;
    return { ok: false, reason };
  }
}

/** The revert's reason if `err` is a revert of the call, else undefined. */
export function revertReason(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted) {
    if (reverted.data?.errorName) {
      const args = (reverted.data.args ?? []).map((a) => (typeof a === "bigint" ? a.toString() : String(a)));
      return `${reverted.data.errorName}(${args.join(", ")})`;
    }
    if (reverted.reason) return reverted.reason;
    if (reverted.raw) return `reverted with data ${reverted.raw}`;
    return "reverted without data";
  }
  // Nodes that answer a failing estimate without revert data (out of gas inside the call, ...).
  const text = `${err.details ?? ""} ${err.shortMessage}`;
  if (/revert|out of gas|invalid opcode|execution/i.test(text) && !/fetch failed|ECONNREFUSED|timeout|HTTP request failed/i.test(text)) {
    return (err.details || err.shortMessage).slice(0, 300);
  }
  return undefined;
}
