/**
 * A real Bitcoin Core on regtest for tests and benches: found through $BITCOIND or PATH, started on
 * 127.0.0.1 with ephemeral ports in a fresh temporary datadir, stopped (and the datadir removed)
 * by stop(). The recipe is ../shared/tools/bitcoin-core/README.md's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { BitcoindRpc, RpcError } from "../src/chain/rpc";

/** Key 1 of the Bitcoin Core README: WIF, its P2WPKH regtest address and output script. */
export const KEY1 = {
  wif: "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA",
  address: "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
  script: "0014751e76e8199196d454941c45d1b3a323f1433bd6",
};

/** Path of bitcoind from $BITCOIND or PATH, or the reason there is none. */
export function findBitcoind(): { bin: string } | { reason: string } {
  const env = process.env.BITCOIND;
  if (env) {
    try {
      fs.accessSync(env, fs.constants.X_OK);
      return { bin: env };
    } catch {
      return { reason: `BITCOIND=${env} is not an executable file` };
    }
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "bitcoind");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return { bin: candidate };
    } catch {
      /* next */
    }
  }
  return { reason: "no bitcoind: set BITCOIND to a Bitcoin Core binary (e.g. ../shared/tools/bitcoin-core/bitcoind) or put one on PATH" };
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface RegtestNode {
  url: string;
  user: string;
  password: string;
  rpc: BitcoindRpc;
  datadir: string;
  /** Calls the node's RPC (a separate client from the pool's). */
  call<T = unknown>(method: string, ...params: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** Starts bitcoind -regtest and waits until its RPC answers; extra args are appended. */
export async function startRegtestNode(bin: string, extraArgs: string[] = []): Promise<RegtestNode> {
  const datadir = fs.mkdtempSync(path.join(os.tmpdir(), "regtest-"));
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const user = "pool";
  const password = "regtest-" + Math.random().toString(36).slice(2);
  const args = [
    "-regtest", `-datadir=${datadir}`, `-rpcuser=${user}`, `-rpcpassword=${password}`, `-rpcport=${rpcPort}`,
    "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", `-port=${p2pPort}`, `-bind=127.0.0.1:${p2pPort}`,
    "-listenonion=0", "-dnsseed=0", "-fixedseeds=0", "-discover=0", "-natpmp=0", "-printtoconsole=0",
    ...extraArgs,
  ];
  const child: ChildProcess = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  const url = `http://127.0.0.1:${rpcPort}`;
  const rpc = new BitcoindRpc({ url, user, password, timeoutMs: 120_000 });
  const call = <T>(method: string, ...params: unknown[]) => rpc.call<T>(method, params);
  const stop = async () => {
    if (!exited) {
      await call("stop").catch(() => child.kill("SIGTERM"));
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exit;
      clearTimeout(killer);
    }
    rpc.close();
    fs.rmSync(datadir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      fs.rmSync(datadir, { recursive: true, force: true });
      throw new Error(`bitcoind exited at start: ${stderr.trim().slice(0, 400)}`);
    }
    try {
      await call("getblockchaininfo");
      break;
    } catch (err) {
      if (!(err instanceof RpcError && err.code === -28) && Date.now() > deadline) {
        await stop();
        throw new Error(`bitcoind did not answer RPC within 30 s: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, user, password, rpc, datadir, call, stop };
}

/** A signed segwit (P2WPKH) spend of `outpoint` back to KEY1, paying `fee` satoshis; returns its hex and txid. */
export async function spendToKey1(node: RegtestNode, outpoint: { txid: string; vout: number; valueSats: bigint }, feeSats: bigint): Promise<{ hex: string; txid: string; valueSats: bigint }> {
  const valueSats = outpoint.valueSats - feeSats;
  const btc = (sats: bigint) => Number(sats) / 1e8;
  const raw = await node.call<string>("createrawtransaction", [{ txid: outpoint.txid, vout: outpoint.vout }], [{ [KEY1.address]: btc(valueSats) }]);
  const signed = await node.call<{ hex: string; complete: boolean; errors?: unknown[] }>("signrawtransactionwithkey", raw, [KEY1.wif], [
    { txid: outpoint.txid, vout: outpoint.vout, scriptPubKey: KEY1.script, amount: btc(outpoint.valueSats) },
  ]);
  if (!signed.complete) throw new Error(`signrawtransactionwithkey: incomplete: ${JSON.stringify(signed.errors)}`);
  const decoded = await node.call<{ txid: string }>("decoderawtransaction", signed.hex);
  return { hex: signed.hex, txid: decoded.txid, valueSats };
}
