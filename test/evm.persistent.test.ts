import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPublicClient, http, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimCommand } from "../src/cli/claim";
import { hardhatDevKey } from "../src/evm/clients";
import { anvilBinary } from "../src/evm/embedded";
import { erc20Abi, payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner";
import { getJson, waitFor } from "./pool.helpers";

const BIN = path.join(__dirname, "..", "bin", "pool.js");
const MINER = privateKeyToAccount(hardhatDevKey(6)).address;
const RELAYER_ENV = "PERSIST_RELAYER_KEY";

interface Started {
  child: ChildProcess;
  apiUrl: string;
  rpcUrl: string;
  stratumUrl: string;
  contract: Address;
  output: () => string;
}

/** `pool start` as an operator runs it: its own process (so that it can be killed with -9). */
async function startPoolProcess(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, [BIN, "start", "--log-format", "json"], {
    env: {
      ...process.env,
      POOL_DATA_DIR: dataDir,
      POOL_API_PORT: "0",
      POOL_STRATUM_PORT: "0",
      POOL_EVM_PORT: "0",
      POOL_CHALLENGE_WINDOW: "1",
      POOL_NETWORK_DIFFICULTY: "0.0002",
      POOL_START_DIFFICULTY: "0.00005",
      POOL_MIN_DIFFICULTY: "0.00001",
      POOL_TARGET_SHARE_SECONDS: "2",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const field = (name: string) => new RegExp(`${name}:\\s+(\\S+)`).exec(out)?.[1];
  await waitFor("the pool's start banner", 90_000, async () => {
    if (child.exitCode !== null) throw new Error(`pool exited ${child.exitCode}: ${out}`);
    return field("Contract");
  });
  return {
    child,
    apiUrl: field("Web \\+ API")!,
    rpcUrl: field("EVM RPC")!,
    stratumUrl: field("Stratum")!,
    contract: field("Contract") as Address,
    output: () => out,
  };
}

function kill9(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * The embedded default keeps its chain (anvil, state saved after every block): a pool and its
 * chain both killed with -9 come back with the same contract, the claimed balance, the contract's
 * `claimed` record and the Claimed event.
 */
describe("embedded EVM: persistent across kill -9", function () {
  this.timeout(300_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-persist-"));
  let running: Started | undefined;
  let miner: Miner | undefined;

  before(function () {
    if (!anvilBinary()) {
      console.log("    (skipped: anvil (@foundry-rs/anvil-linux-amd64) is not installed for this platform)");
      this.skip();
    }
  });

  after(async () => {
    await miner?.stop();
    if (running) {
      running.child.kill("SIGTERM");
      await new Promise((r) => running!.child.once("exit", r));
    }
    delete process.env[RELAYER_ENV];
  });

  it("a claimed balance, the contract and its events survive kill -9 of the pool and of the chain", async () => {
    running = await startPoolProcess(dataDir);
    const first = running;
    miner = new Miner({ url: first.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
    await waitFor("an active epoch paying the miner", 180_000, async () => {
      const m = await getJson(`${first.apiUrl}/api/miners/${MINER}`);
      return BigInt(m.claimable ?? "0") > 0n;
    });
    await miner.stop();
    miner = undefined;

    process.env[RELAYER_ENV] = hardhatDevKey(5);
    const lines: string[] = [];
    expect(await claimCommand(["--address", MINER, "--api", first.apiUrl, "--key-env", RELAYER_ENV], (l) => lines.push(l)), lines.join("\n")).to.equal(0);
    expect(lines.join("\n")).to.match(/claimable: +[0-9.]+ tBTC \(\d+ units\)/);

    const client = createPublicClient({ transport: http(first.rpcUrl) });
    const token = await client.readContract({ address: first.contract, abi: payoutPoolAbi, functionName: "token" });
    const balance = await client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [MINER] });
    const claimed = await client.readContract({ address: first.contract, abi: payoutPoolAbi, functionName: "claimed", args: [MINER] });
    expect(balance > 0n && balance === claimed, `balance ${balance} = claimed ${claimed}`).to.equal(true);
    const head = await client.getBlockNumber();

    // The chain's state is saved after each block (polled every 250 ms): give it one poll, then
    // kill the pool and its chain together, as a power cut would.
    await new Promise((r) => setTimeout(r, 1000));
    const anvilPid = JSON.parse(fs.readFileSync(path.join(dataDir, "evm", "evm-anvil.json"), "utf8")).pid as number;
    kill9(first.child.pid!);
    kill9(anvilPid);
    await new Promise((r) => first.child.once("exit", r));
    running = undefined;

    running = await startPoolProcess(dataDir);
    const second = running;
    expect(second.contract.toLowerCase(), "the same contract, not a new deployment").to.equal(first.contract.toLowerCase());
    expect(second.output()).to.contain("PayoutPool of the previous run found on the embedded EVM");
    const after = createPublicClient({ transport: http(second.rpcUrl) });
    expect(Number(await after.getBlockNumber())).to.be.gte(Number(head));
    expect(await after.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [MINER] })).to.equal(balance);
    expect(await after.readContract({ address: second.contract, abi: payoutPoolAbi, functionName: "claimed", args: [MINER] })).to.equal(claimed);
    const events = await after.getContractEvents({ address: second.contract, abi: payoutPoolAbi, eventName: "Claimed", fromBlock: 0n });
    expect(events.map((e) => [e.args.account, e.args.cumulativeAmount])).to.deep.include([MINER, claimed]);
    const page = await getJson(`${second.apiUrl}/api/miners/${MINER}`);
    expect(page.claimed).to.equal(claimed.toString());
    // A block found just before the miner stopped may have been paid in a later root since the claim.
    expect(BigInt(page.claimable)).to.equal(BigInt(page.allocated) - claimed);

    // kill -9 of the pool alone leaves its chain running (own process group): the next start saves
    // that chain's state, ends that process (by its recorded pid) and goes on from it.
    const orphan = JSON.parse(fs.readFileSync(path.join(dataDir, "evm", "evm-anvil.json"), "utf8")).pid as number;
    kill9(second.child.pid!);
    await new Promise((r) => second.child.once("exit", r));
    running = undefined;
    expect(() => process.kill(orphan, 0), "the chain outlived the pool").to.not.throw();
    running = await startPoolProcess(dataDir);
    expect(running.contract.toLowerCase()).to.equal(first.contract.toLowerCase());
    expect(running.output()).to.contain("saved the state of the embedded EVM left running by the previous pool");
    await waitFor("the orphaned chain ended", 5_000, async () => {
      try {
        process.kill(orphan, 0);
        return false;
      } catch {
        return true;
      }
    });
    const third = createPublicClient({ transport: http(running.rpcUrl) });
    expect(await third.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [MINER] })).to.equal(balance);
  });
});
