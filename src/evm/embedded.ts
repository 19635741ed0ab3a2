import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { HARDHAT_DEV_MNEMONIC } from "./clients";

export interface EmbeddedEvm {
  /** JSON-RPC URL of the local EVM (chain id 31337). */
  rpcUrl: string;
  chainId: number;
  port: number;
  /** "anvil": a child process whose state is saved in `stateFile`; "memory": the in-process Hardhat network. */
  kind: "anvil" | "memory";
  /** Where the chain's state is kept (anvil only). */
  stateFile?: string;
  /** Writes the chain's state now (anvil only; resolves at once for memory). */
  saveState(): Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedEvmOptions {
  host?: string;
  port?: number;
  /**
   * Folder of a persistent chain: with it (and the anvil binary installed) the EVM is anvil, whose
   * state is saved to `<stateDir>/evm-state.json` after every new block and reloaded at start, so
   * contracts, balances, claims and events survive a restart or a kill -9 of the pool. Without it:
   * the in-process Hardhat network (memory only; what tests that drive Hardhat directly use).
   */
  stateDir?: string;
  /** How often the block number is polled for a new block to save (ms). */
  saveEveryMs?: number;
  log?: (msg: string) => void;
}

/**
 * Serves a local EVM as a real JSON-RPC endpoint, so that the aggregator, the claim CLI, browser
 * wallets and any viem client reach it exactly as they would reach a real node.
 * The Hardhat path needs the project's hardhat.config.ts (the process must run from the project root).
 */
export async function startEmbeddedEvm(opts: EmbeddedEvmOptions = {}): Promise<EmbeddedEvm> {
  if (opts.stateDir) {
    const binary = anvilBinary();
    if (binary) return startAnvil(binary, opts.stateDir, opts);
    opts.log?.(`anvil is not installed for ${process.platform}-${process.arch} (optional dependency @foundry-rs/anvil-linux-amd64): the embedded EVM keeps its state in memory only`);
  }
  return startHardhat(opts);
}

async function startHardhat(opts: EmbeddedEvmOptions): Promise<EmbeddedEvm> {
  const hre: HardhatRuntimeEnvironment = require("hardhat");
  const host = opts.host ?? "127.0.0.1";
  const server = await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: host,
    port: opts.port ?? 8545,
    provider: hre.network.provider,
  });
  const { port } = await server.listen();
  const chainId = Number(await hre.network.provider.request({ method: "eth_chainId" }));
  return {
    rpcUrl: `http://${host}:${port}`,
    chainId,
    port,
    kind: "memory",
    saveState: async () => undefined,
    close: () => server.close(),
  };
}

/** The anvil binary shipped by the optional npm package, if installed for this platform. */
export function anvilBinary(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  try {
    const dir = path.dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json"));
    const bin = path.join(dir, "bin", "anvil");
    return fs.existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const CHAIN_ID = 31337;

async function rpc(url: string, method: string, params: unknown[] = [], timeoutMs = 10_000): Promise<any> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Writes `data` to `file` so that a crash leaves either the old or the new file, whole. */
function writeAtomic(file: string, data: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/** Saves the state of the anvil at `url` (anvil_dumpState: gzipped JSON) as plain JSON, atomically. */
async function dumpTo(url: string, file: string): Promise<void> {
  const hex = String(await rpc(url, "anvil_dumpState", [], 30_000));
  const json = zlib.gunzipSync(Buffer.from(hex.replace(/^0x/, ""), "hex"));
  JSON.parse(json.toString("utf8")); // never replace a good state with a bad one
  writeAtomic(file, json);
}

interface PidRecord {
  pid: number;
  url: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * An anvil left running by a pool that was killed (kill -9 does not reach the child) holds the
 * newest state: save it, then end that process (by its recorded pid, and only if it is an anvil).
 */
async function adoptOrphan(pidFile: string, stateFile: string, log?: (msg: string) => void): Promise<void> {
  if (!fs.existsSync(pidFile)) return;
  let rec: PidRecord | undefined;
  try {
    rec = JSON.parse(fs.readFileSync(pidFile, "utf8"));
  } catch {
    rec = undefined;
  }
  fs.rmSync(pidFile, { force: true });
  if (!rec || !Number.isInteger(rec.pid) || !alive(rec.pid)) return;
  let cmdline = "";
  try {
    cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, "utf8");
  } catch {
    return;
  }
  if (!cmdline.includes("anvil") || !cmdline.includes(path.dirname(stateFile))) return;
  try {
    await dumpTo(rec.url, stateFile);
    log?.(`saved the state of the embedded EVM left running by the previous pool (pid ${rec.pid})`);
  } catch (err) {
    log?.(`the embedded EVM left running (pid ${rec.pid}) did not answer (${(err as Error).message}); using the last saved state`);
  }
  process.kill(rec.pid, "SIGKILL");
  for (let i = 0; i < 100 && alive(rec.pid); i++) await new Promise((r) => setTimeout(r, 50));
}

async function startAnvil(binary: string, stateDir: string, opts: EmbeddedEvmOptions): Promise<EmbeddedEvm> {
  fs.mkdirSync(stateDir, { recursive: true });
  const stateFile = path.join(stateDir, "evm-state.json");
  const pidFile = path.join(stateDir, "evm-anvil.json");
  await adoptOrphan(pidFile, stateFile, opts.log);
  const host = opts.host ?? "127.0.0.1";
  const args = [
    "--host", host,
    "--port", String(opts.port ?? 8545),
    "--chain-id", String(CHAIN_ID),
    "--mnemonic", HARDHAT_DEV_MNEMONIC,
    "--accounts", "20",
    "--balance", "10000",
    // Names the folder on the command line: how an orphan of this data dir is recognised.
    "--config-out", path.join(stateDir, "evm-accounts.json"),
    // The pool saves the state itself (atomically, after each block); anvil only loads it.
    ...(fs.existsSync(stateFile) ? ["--load-state", stateFile] : []),
  ];
  // Its own process group: a Ctrl-C meant for the pool must not end the chain before its last save
  // (the pool stops it after saving; one left behind by a kill -9 is adopted by the next start).
  const child: ChildProcess = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil did not start within 30 s: ${output.slice(-500)}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Listening on [^\s:]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited with code ${code} at start: ${output.slice(-800)}`));
    });
  });
  // Drain the output so the pipe never fills.
  child.stdout!.removeAllListeners("data");
  child.stderr!.removeAllListeners("data");
  child.stdout!.resume();
  child.stderr!.resume();
  const rpcUrl = `http://${host}:${port}`;
  fs.writeFileSync(pidFile, JSON.stringify({ pid: child.pid!, url: rpcUrl } satisfies PidRecord));

  // Save after every new block: what a kill -9 of the pool and the chain together can lose is at
  // most the blocks of the last poll interval, and the file on disk is always a whole state.
  let savedBlock = -1;
  let saving: Promise<void> | undefined;
  let stopped = false;
  const save = async (force = false) => {
    const block = Number(await rpc(rpcUrl, "eth_blockNumber"));
    if (!force && block === savedBlock) return;
    await dumpTo(rpcUrl, stateFile);
    savedBlock = block;
  };
  const saveSerial = (force = false): Promise<void> => {
    const run = (saving ?? Promise.resolve()).then(() => save(force));
    saving = run.catch(() => undefined);
    return run;
  };
  await saveSerial(true);
  const every = opts.saveEveryMs ?? 250;
  const timer = setInterval(() => {
    if (!stopped) saveSerial().catch((err) => opts.log?.(`saving the embedded EVM's state failed: ${(err as Error).message}`));
  }, every);
  timer.unref();

  return {
    rpcUrl,
    chainId: CHAIN_ID,
    port,
    kind: "anvil",
    stateFile,
    saveState: () => saveSerial(true),
    close: async () => {
      stopped = true;
      clearInterval(timer);
      if (child.exitCode !== null || child.signalCode !== null) {
        opts.log?.(`the embedded EVM had already exited (${child.signalCode ?? child.exitCode}): its state is the one saved after its last block`);
        fs.rmSync(pidFile, { force: true });
        return;
      }
      await saveSerial(true).catch((err) => opts.log?.(`saving the embedded EVM's state at stop failed: ${(err as Error).message}`));
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      fs.rmSync(pidFile, { force: true });
    },
  };
}
