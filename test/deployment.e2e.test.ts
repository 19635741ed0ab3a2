import { expect } from "chai";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createPublicClient, http, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatDevKey } from "../src/evm/clients";
import { anvilBinary } from "../src/evm/embedded";
import { erc20Abi, payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner";
import { getJson, waitFor } from "./pool.helpers";

const run = promisify(execFile);
const ROOT = path.join(__dirname, "..");
const HARDHAT = path.join(ROOT, "node_modules", ".bin", "hardhat");
const MINER = privateKeyToAccount(hardhatDevKey(8)).address;
const WINDOW = 5;

/** Output lines of a child until `pattern` matches; the child's exit first is a failure with its output. */
async function waitOutput(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 90_000): Promise<RegExpExecArray> {
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  return waitFor(what, timeoutMs, async () => {
    if (child.exitCode !== null) throw new Error(`${what}: exited ${child.exitCode}: ${out}`);
    return pattern.exec(out) ?? undefined;
  });
}

/**
 * A real deployment, as the README's operator section walks it: a node started on its own (anvil,
 * which mines only when sent a transaction), the Hardhat scripts deploy an 8-decimal test token and
 * the PayoutPool with a challenge window and fund it in whole units, `pool start --config` runs on
 * the deployment record, a miner mines until roots are accepted with no manual step, and claims
 * with `pool claim`.
 */
describe("deployment end to end: scripts, a separate node with a challenge window, pool start --config, claim", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-realdeploy-"));
  const children: ChildProcess[] = [];
  let miner: Miner | undefined;

  before(function () {
    if (!anvilBinary()) {
      console.log("    (skipped: no anvil binary for this platform to run the separate node)");
      this.skip();
    }
  });

  after(async () => {
    await miner?.stop();
    for (const c of children.reverse()) {
      if (c.exitCode !== null) continue;
      c.kill("SIGTERM");
      await Promise.race([new Promise((r) => c.once("exit", r)), new Promise((r) => setTimeout(r, 10_000))]);
    }
  });

  it("deploys with the scripts, runs the pool on the record, accepts roots by itself and pays a claim", async () => {
    const node = spawn(anvilBinary()!, ["--port", "0", "--chain-id", "31337"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(node);
    const rpcUrl = `http://127.0.0.1:${(await waitOutput(node, /Listening on 127\.0\.0\.1:(\d+)/, "the node"))[1]}`;
    const env = { ...process.env, EVM_RPC_URL: rpcUrl };
    const hardhat = async (script: string, extra: Record<string, string>) => {
      const { stdout } = await run(HARDHAT, ["run", "--network", "localhost", script], { cwd: ROOT, env: { ...env, ...extra }, timeout: 120_000 });
      return stdout;
    };

    const tokenRecord = path.join(dir, "token.json");
    expect(await hardhat("scripts/deploy-token.ts", { TOKEN_RECORD: tokenRecord, TOKEN_SUPPLY: "1000" })).to.contain("deployed TestBTC (tBTC, 8 decimals)");
    const token = JSON.parse(fs.readFileSync(tokenRecord, "utf8")).address as Address;
    const deployment = path.join(dir, "localhost.json");
    const deployed = await hardhat("scripts/deploy.ts", { POOL_TOKEN: token, CHALLENGE_WINDOW: String(WINDOW), MAX_PAUSE: "3600", DEPLOYMENT: deployment });
    expect(deployed).to.contain(`challenge window ${WINDOW} s`);
    const contract = JSON.parse(fs.readFileSync(deployment, "utf8")).address as Address;
    expect(await hardhat("scripts/fund.ts", { AMOUNT: "0.5", DEPLOYMENT: deployment })).to.contain("0.5 tBTC");

    const configFile = path.join(dir, "pool.json");
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: path.join(dir, "data"),
        stratum: { port: 0, startDifficulty: "0.00005", minDifficulty: "0.00001", targetShareSeconds: 2 },
        api: { port: 0 },
        evm: { rpcUrl, deployment, operatorKey: hardhatDevKey(0), unitsPerSatoshi: "1" },
        chain: { networkDifficulty: "0.0002" },
        committer: { pollSeconds: 0.5 },
        log: { format: "json" },
      }),
    );
    const pool = spawn(process.execPath, [path.join(ROOT, "bin", "pool.js"), "start", "--config", configFile], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    children.push(pool);
    let banner = "";
    pool.stdout!.on("data", (c) => (banner += c));
    pool.stderr!.on("data", (c) => (banner += c));
    const poolLog = () => banner.split("\n").slice(-40).join("\n");
    await waitOutput(pool, /Contract:\s+0x/, "the pool's banner");
    const apiUrl = /Web \+ API:\s+(\S+)/.exec(banner)![1];
    const stratumUrl = /Stratum:\s+(\S+)/.exec(banner)![1];
    expect(banner).to.contain("Pays in:   tBTC (8 decimals");
    const config = await getJson(`${apiUrl}/api/config`);
    expect(config).to.include({ challengeWindow: WINDOW, assetSymbol: "tBTC", assetDecimals: 8, unitsPerSatoshi: "1" });
    expect(config.contract.toLowerCase()).to.equal(contract.toLowerCase());

    miner = new Miner({ url: stratumUrl, user: `${MINER}.rig` });
    await miner.start();
    // Nobody mines the node's blocks but the pool's own transactions: the committer must accept by
    // the wall clock (bug 1), with no evm_mine or time travel from here.
    const stats = await waitFor("a root accepted on the separate node", 200_000, async () => {
      const s = await getJson(`${apiUrl}/api/stats`);
      return s.activeEpoch >= 1 ? s : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; the pool's last log lines:\n${poolLog()}`);
    });
    await miner.stop();
    miner = undefined;
    expect(stats.activeEpoch).to.be.gte(1);

    const claimable = BigInt((await getJson(`${apiUrl}/api/miners/${MINER}`)).claimable);
    expect(claimable > 0n).to.equal(true);
    const client = createPublicClient({ transport: http(rpcUrl) });
    const before = await client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [MINER] });
    const { stdout } = await run(process.execPath, [path.join(ROOT, "bin", "pool.js"), "claim", "--address", MINER, "--api", apiUrl, "--key-env", "CLAIM_KEY"], {
      env: { ...process.env, CLAIM_KEY: hardhatDevKey(9) },
      timeout: 60_000,
    });
    expect(stdout).to.match(/pays in tBTC, 8 decimals/);
    expect(stdout).to.match(/^transaction: +0x[0-9a-f]{64}$/m);
    const after = await client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [MINER] });
    const claimed = await client.readContract({ address: contract, abi: payoutPoolAbi, functionName: "claimed", args: [MINER] });
    expect(after - before).to.equal(claimed);
    expect(claimed >= claimable).to.equal(true);
  });
});
