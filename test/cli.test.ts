import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { loadConfig, ConfigError } from "../src/config";
import { UsageError } from "../src/cli/args";
import { auditCommand } from "../src/cli/audit";
import { claimCommand } from "../src/cli/claim";
import { main } from "../src/cli";

const run = promisify(execFile);
const BIN = path.join(__dirname, "..", "bin", "pool.js");

async function pool(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e: any) {
    return { code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string };
  }
}

describe("command line", function () {
  this.timeout(120_000);

  it("prints --help for every subcommand", async () => {
    for (const cmd of ["start", "claim", "audit", "rebuild-epoch"]) {
      const r = await pool([cmd, "--help"]);
      expect(r.code, cmd).to.equal(0);
      expect(r.stdout).to.contain(`pool ${cmd}`);
    }
    const top = await pool(["--help"]);
    expect(top.stdout).to.contain("commands:");
  });

  it("names the flag on bad input", async () => {
    // One run through the real binary for the exit code and stderr...
    const noAddress = await pool(["claim", "--api", "http://127.0.0.1:1"]);
    expect(noAddress.code).to.equal(2);
    expect(noAddress.stderr).to.contain("missing required flag --address");
    // ...and the rest in-process (each binary start costs seconds of TypeScript transpiling).
    const rejects = async (promise: Promise<unknown>, message: string | RegExp) => {
      const err = await promise.then(() => undefined, (e: Error) => e);
      expect(err, String(message)).to.be.instanceOf(UsageError);
      if (typeof message === "string") expect(err!.message).to.contain(message);
      else expect(err!.message).to.match(message);
    };
    const quiet = () => undefined;
    await rejects(claimCommand(["--address", "0x12", "--api", "http://127.0.0.1:1"], quiet), "--address: not a valid address");
    await rejects(claimCommand(["--address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"], quiet), "missing --api URL or --epoch-file F");
    await rejects(claimCommand(["--address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "--epoch-file", "/nonexistent/epoch.json"], quiet), "--epoch-file");
    const contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    await rejects(auditCommand(["--epoch", "x", "--dir", ".", "--rpc", "http://127.0.0.1:1", "--contract", contract], quiet), "--epoch: must be a positive integer");
    await rejects(auditCommand(["--epoch", "1", "--api", "http://127.0.0.1:1", "--dir", ".", "--rpc", "http://127.0.0.1:1", "--contract", contract], quiet), "give at most one of --api URL or --dir D");
    await rejects(auditCommand(["--epoch", "1", "--rpc", "http://127.0.0.1:1", "--contract", contract], quiet), "--rpc: cannot read the contract's roots from http://127.0.0.1:1");
    await rejects(auditCommand(["--epoch", "1", "--dir", "/nonexistent", "--rpc", "http://127.0.0.1:1", "--contract", contract], quiet), "--dir: /nonexistent/epoch-000001.json does not exist");
    await rejects(auditCommand(["--nope"], quiet), /Unknown option '--nope'/);
    expect(await main(["fly"])).to.equal(2);
  });

  it("stops `pool start` at once on invalid configuration, naming the setting", async () => {
    const r = await pool(["start"], { POOL_STRATUM_PORT: "99999" });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("stratum.port");
  });

  it("validates every setting with a message naming it", () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ POOL_FEE_BPS: "10001" }, "pplns.feeBps"],
      [{ POOL_START_DIFFICULTY: "-1" }, "stratum.startDifficulty"],
      [{ POOL_FEE_ADDRESS: "0x1234" }, "pplns.feeAddress"],
      [{ POOL_EVM_RPC_URL: "http://127.0.0.1:8545" }, "evm.contract"],
      [{ POOL_BITCOIND_URL: "http://127.0.0.1:8332" }, "chain.payoutScript"],
      [{ POOL_OPERATOR_KEY: "0xabc" }, "evm.operatorKey"],
      [{ POOL_PAYOUT_THRESHOLD: "0.01 BTC" }, "payouts.threshold"],
    ];
    for (const [env, setting] of bad) {
      expect(() => loadConfig({ env }), setting).to.throw(ConfigError, setting);
    }
    expect(() => loadConfig({ env: {}, overrides: { stratum: { prot: 1 } } })).to.throw(ConfigError, "stratum.prot: unknown setting");
    const ok = loadConfig({ env: { POOL_STRATUM_PORT: "4444", POOL_FEE_BPS: "250" } });
    expect(ok.stratum.port).to.equal(4444);
    expect(ok.pplns.feeBps).to.equal(250);
  });
});
