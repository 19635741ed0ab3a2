/**
 * Which proof-of-work chain the audit reads: the auditor's own bitcoind when given, otherwise the
 * header chain the pool publishes for its embedded chain (verified on parse: links, proof of work,
 * bits, times). A chain that cannot be read or does not verify is reported, never believed.
 */
import type { RpcOptions } from "../chain/rpc";
import { fetchPublished } from "./fetch";
import { BitcoindHeaderChain } from "./powchain-bitcoind";
import { PublishedHeaderChain, type PowChainView } from "./powchain";

export interface ChainSourceOptions {
  bitcoind?: RpcOptions;
  /** A header chain file or URL named by the auditor. */
  headers?: string;
  /** The header chain found next to the published epoch file (text), when no other source is named. */
  publishedHeaders?: string;
  /** The epoch file's `chain.pow` ("embedded", "bitcoind", …): a bitcoind chain needs --bitcoind. */
  pow?: string;
}

export async function openChainView(o: ChainSourceOptions): Promise<{ chain?: PowChainView; problem?: string; close: () => void }> {
  if (o.bitcoind) {
    const chain = new BitcoindHeaderChain(o.bitcoind);
    try {
      await chain.tipHeight();
    } catch (err) {
      chain.close();
      return { problem: `chain: cannot read ${chain.source}: ${(err as Error).message}`, close: () => undefined };
    }
    return { chain, close: () => chain.close() };
  }
  let text = o.publishedHeaders;
  let where = "the published header chain";
  if (o.headers) {
    where = o.headers;
    try {
      text = (await fetchPublished(o.headers)).toString("utf8");
    } catch (err) {
      return { problem: `chain: ${(err as Error).message}`, close: () => undefined };
    }
  }
  if (text === undefined) {
    const hint = o.pow && o.pow !== "embedded" ? "pass --bitcoind URL (your own node)" : "pass --headers FILE|URL or --bitcoind URL";
    return { problem: `chain: no proof-of-work chain to check the shares against: ${hint}`, close: () => undefined };
  }
  try {
    return { chain: PublishedHeaderChain.parse(text), close: () => undefined };
  } catch (err) {
    return { problem: `chain: ${where} does not verify: ${(err as Error).message}`, close: () => undefined };
  }
}
