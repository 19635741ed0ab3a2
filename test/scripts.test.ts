import { expect } from "chai";
import hre from "hardhat";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { getAddress, keccak256, parseEther, zeroAddress, type Address } from "viem";
import { PayoutTree } from "../src/merkle";
import { payoutPoolArtifact } from "../src/evm/deploy";
import { readDeploymentRecord } from "../src/evm/deploymentRecord";
import { InputError, type Env } from "../scripts/lib/env";
import { epochFileJson } from "../scripts/lib/epochFile";
import { checkChallengeWindow } from "../scripts/lib/window";
import { main as deploy } from "../scripts/deploy";
import { main as fund } from "../scripts/fund";
import { main as proposeRoot } from "../scripts/propose-root";
import { main as acceptRoot } from "../scripts/accept-root";
import { main as revokeRoot } from "../scripts/revoke-root";
import { main as status } from "../scripts/status";

/** Runs a script's main, returning its result and what it printed. */
async function run<T>(main: (h: typeof hre, env: Env, log: (l: string) => void) => Promise<T>, env: Env) {
  const lines: string[] = [];
  const result = await main(hre, env, (l) => lines.push(l));
  return { result, output: lines.join("\n") };
}

async function expectInputError(promise: Promise<unknown>, mentions: string) {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.contain(mentions);
    return;
  }
  throw new Error(`expected an InputError mentioning ${mentions}`);
}

describe("operator scripts (in-process Hardhat network)", function () {
  let dir: string;
  let accounts: Address[];

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "payout-scripts-"));
    accounts = (await hre.viem.getWalletClients()).map((w) => getAddress(w.account.address));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function writeEpoch(name: string, epoch: bigint, tree: PayoutTree, edit?: (json: any) => void): string {
    const file = path.join(dir, name);
    const json = JSON.parse(epochFileJson(epoch, tree));
    edit?.(json);
    fs.writeFileSync(file, JSON.stringify(json, null, 2));
    return file;
  }

  it("deploy, fund, propose, accept, status and a claim, with the native coin", async function () {
    const DEPLOYMENT = path.join(dir, "native.json");
    const [admin, operator, guardian] = accounts;
    const { result: deployment, output } = await run(deploy, {
      POOL_TOKEN: "native",
      POOL_ADMIN: admin,
      POOL_OPERATOR: operator,
      POOL_GUARDIAN: guardian,
      CHALLENGE_WINDOW: "600",
      MAX_PAUSE: "3600",
      DEPLOYMENT,
    });
    expect(output).to.match(/deployed PayoutPool at 0x[0-9a-fA-F]{40}/).and.to.match(/tx 0x[0-9a-f]{64}/);
    const saved = JSON.parse(fs.readFileSync(DEPLOYMENT, "utf8"));
    expect(saved).to.include({ address: deployment.address, token: null, operator, guardian, challengeWindow: 600, maxPause: 3600, chainId: 31337 });
    // Like hardhat-deploy's records: the ABI, exactly the compiled artifact's, and what `pool start` reads.
    const compiledAbi = (await hre.artifacts.readArtifact("PayoutPool")).abi;
    expect(saved.abi, "the record carries the compiled ABI").to.deep.equal(compiledAbi);
    expect(saved.abi).to.deep.equal(payoutPoolArtifact().abi);
    expect(saved).to.have.property("blockNumber").that.is.a("number");
    expect(saved).to.include({ admin });
    const record = readDeploymentRecord(DEPLOYMENT);
    expect(record.abi).to.deep.equal(compiledAbi);
    expect(record).to.include({ chainId: 31337, address: getAddress(deployment.address), token: null, challengeWindow: 600, blockNumber: saved.blockNumber });
    const badAbi = path.join(dir, "bad-abi.json");
    fs.writeFileSync(badAbi, JSON.stringify({ ...saved, abi: [{ type: "function", name: "transfer", inputs: [], outputs: [] }] }));
    expect(() => readDeploymentRecord(badAbi)).to.throw("evm.deployment").with.property("message").that.contains("not PayoutPool's");
    const pool = await hre.viem.getContractAt("PayoutPool", deployment.address);
    expect(await pool.read.challengeWindow()).to.equal(600n);

    const funded = await run(fund, { AMOUNT: "3", DEPLOYMENT }); // whole units of the asset (3 ETH)
    expect(funded.result.totalFunded).to.equal(parseEther("3"));
    expect(funded.output).to.match(/tx 0x[0-9a-f]{64}/);

    const claimant = accounts[9];
    const tree = new PayoutTree([
      { account: claimant, cumulative: parseEther("1") },
      { account: accounts[8], cumulative: parseEther("0.5") },
    ]);
    const EPOCH_FILE = writeEpoch("epoch-1.json", 1n, tree);
    await expectInputError(run(proposeRoot, { EPOCH_FILE, DEPLOYMENT }), "OPERATOR_ROLE"); // signer is the admin
    const proposed = await run(proposeRoot, { EPOCH_FILE, DEPLOYMENT, SIGNER: operator, EPOCH_URI: "https://pool.example/epochs/1.json" });
    const [pendingRoot, pendingEpoch, pendingTotal] = await pool.read.pendingRoot();
    expect([pendingRoot, pendingEpoch, pendingTotal]).to.deep.equal([tree.root, 1n, parseEther("1.5")]);
    const [event] = await pool.getEvents.RootProposed({}, { fromBlock: 0n });
    expect(event.args.dataHash).to.equal(keccak256(fs.readFileSync(EPOCH_FILE)));
    expect(event.args.uri).to.equal("https://pool.example/epochs/1.json");
    expect(proposed.output).to.contain(proposed.result.hash);

    await expectInputError(run(acceptRoot, { DEPLOYMENT }), "challenge window");
    const pending = await run(status, { DEPLOYMENT });
    expect(pending.result.pending?.epoch).to.equal(1n);
    expect(pending.output).to.match(/pending root\s+epoch 1/).and.to.contain("s of challenge window left");

    await time.increase(600);
    const accepted = await run(acceptRoot, { DEPLOYMENT, SIGNER: accounts[7] }); // anyone may accept
    expect(accepted.result.root).to.equal(tree.root);
    const after = await run(status, { DEPLOYMENT });
    expect(after.result.active).to.deep.equal({ root: tree.root, epoch: 1n, totalCumulative: parseEther("1.5") });
    expect(after.result.pending).to.equal(null);
    expect(after.result.surplus).to.equal(parseEther("1.5"));
    expect(after.result.balance).to.equal(parseEther("3"));
    expect(after.output).to.contain("claims          open");

    // The proposed tree pays out.
    const leaf = tree.proofFor(claimant)!;
    await pool.write.claim([claimant, leaf.cumulative, leaf.proof]);
    expect(await pool.read.claimed([claimant])).to.equal(parseEther("1"));
  });

  it("fund approves an ERC-20 first; revoke-root removes a pending root", async function () {
    const DEPLOYMENT = path.join(dir, "erc20.json");
    const token = await hre.viem.deployContract("MockERC20", ["Reward", "RWD"]);
    await token.write.mint([accounts[0], 1000n]);
    const { result: deployment } = await run(deploy, { POOL_TOKEN: token.address, CHALLENGE_WINDOW: "1", DEPLOYMENT });
    expect(deployment.token).to.equal(getAddress(token.address));
    expect(deployment.operator).to.equal(accounts[0]); // roles default to the signer locally

    await expectInputError(run(fund, { AMOUNT_UNITS: "1001", DEPLOYMENT }), "AMOUNT");
    const funded = await run(fund, { AMOUNT_UNITS: "700", DEPLOYMENT });
    expect(funded.result.hashes).to.have.length(2); // approve + fund
    expect(funded.output).to.contain("approved 700").and.to.contain("RWD");
    expect(await token.read.balanceOf([deployment.address])).to.equal(700n);

    const tree = new PayoutTree([{ account: accounts[5], cumulative: 700n }]);
    const EPOCH_FILE = writeEpoch("erc20-epoch-1.json", 1n, tree);
    await run(proposeRoot, { EPOCH_FILE, DEPLOYMENT });
    await expectInputError(run(proposeRoot, { EPOCH_FILE, DEPLOYMENT }), "still pending");
    await expectInputError(run(revokeRoot, { EPOCH: "2", ROOT: tree.root, DEPLOYMENT }), "EPOCH 2 is not the pending epoch");
    await expectInputError(run(revokeRoot, { EPOCH: "1", ROOT: `0x${"ab".repeat(32)}`, DEPLOYMENT }), "is not the pending root");
    await expectInputError(run(revokeRoot, { EPOCH: "1", ROOT: "0x12", DEPLOYMENT }), "ROOT");
    const revoked = await run(revokeRoot, { EPOCH: "1", ROOT: tree.root, DEPLOYMENT });
    expect(revoked.output).to.contain(revoked.result.hash);
    expect((await run(status, { DEPLOYMENT })).result.pending).to.equal(null);
    await expectInputError(run(acceptRoot, { DEPLOYMENT }), "no pending root");
    // Re-proposed after the revoke, then accepted in the next block (window 1 s, the contract's minimum).
    await run(proposeRoot, { EPOCH_FILE, DEPLOYMENT });
    await run(acceptRoot, { DEPLOYMENT });
    expect((await run(status, { DEPLOYMENT })).result.active.epoch).to.equal(1n);
  });

  it("refuses bad input, naming the variable", async function () {
    const DEPLOYMENT = path.join(dir, "checks.json");
    await expectInputError(run(deploy, { DEPLOYMENT }), "POOL_TOKEN");
    await expectInputError(run(deploy, { POOL_TOKEN: "0x1234", DEPLOYMENT }), "POOL_TOKEN");
    await expectInputError(run(deploy, { POOL_TOKEN: accounts[3], DEPLOYMENT }), "has no contract code");
    await expectInputError(run(deploy, { POOL_TOKEN: "native", POOL_ADMIN: "alice", DEPLOYMENT }), "POOL_ADMIN");
    await expectInputError(run(deploy, { POOL_TOKEN: "native", CHALLENGE_WINDOW: "-1", DEPLOYMENT }), "CHALLENGE_WINDOW");
    await expectInputError(run(deploy, { POOL_TOKEN: "native", CHALLENGE_WINDOW: "0", DEPLOYMENT }), "CHALLENGE_WINDOW must be between 1 and 2592000");
    await expectInputError(run(deploy, { POOL_TOKEN: "native", CHALLENGE_WINDOW: "18446744073709551615", DEPLOYMENT }), "CHALLENGE_WINDOW must be between 1 and 2592000");
    await expectInputError(run(deploy, { POOL_TOKEN: "native", MAX_PAUSE: "1209601", DEPLOYMENT }), "MAX_PAUSE");
    await expectInputError(run(status, { DEPLOYMENT: path.join(dir, "missing.json") }), "DEPLOYMENT");
    await expectInputError(run(fund, { DEPLOYMENT }), "AMOUNT");
    await expectInputError(run(fund, { AMOUNT: "1.5.0", DEPLOYMENT }), "AMOUNT must be a decimal amount in whole units");
    await expectInputError(run(fund, { AMOUNT: "1", AMOUNT_UNITS: "1", DEPLOYMENT }), "not both");
    await expectInputError(run(fund, { AMOUNT_UNITS: "1.5", DEPLOYMENT }), "AMOUNT_UNITS");

    await run(deploy, { POOL_TOKEN: "native", DEPLOYMENT });
    await expectInputError(run(fund, { AMOUNT: "0.0000000000000000001", DEPLOYMENT }), "more decimals than the asset's 18");
    await run(fund, { AMOUNT: "0.0000000000000001", DEPLOYMENT }); // 100 wei, in whole units
    const tree = new PayoutTree([{ account: accounts[4], cumulative: 60n }, { account: accounts[5], cumulative: 40n }]);
    await expectInputError(run(proposeRoot, { DEPLOYMENT }), "EPOCH_FILE");
    await expectInputError(run(proposeRoot, { EPOCH_FILE: path.join(dir, "nope.json"), DEPLOYMENT }), "no such file");
    const wrongRoot = writeEpoch("wrong-root.json", 1n, tree, (j) => (j.leaves[0].cumulative = "61"));
    await expectInputError(run(proposeRoot, { EPOCH_FILE: wrongRoot, DEPLOYMENT }), "does not match the root rebuilt");
    const wrongTotal = writeEpoch("wrong-total.json", 1n, tree, (j) => (j.totalCumulative = "99"));
    await expectInputError(run(proposeRoot, { EPOCH_FILE: wrongTotal, DEPLOYMENT }), "not the sum of the leaves");
    const badAccount = writeEpoch("bad-account.json", 1n, tree, (j) => (j.leaves[1].account = "0xnothex"));
    await expectInputError(run(proposeRoot, { EPOCH_FILE: badAccount, DEPLOYMENT }), "leaves[1].account");
    const wrongEpoch = writeEpoch("wrong-epoch.json", 2n, tree);
    await expectInputError(run(proposeRoot, { EPOCH_FILE: wrongEpoch, DEPLOYMENT }), "not the next one");
    const wrongContract = writeEpoch("wrong-contract.json", 1n, tree, (j) => (j.contract = zeroAddress));
    await expectInputError(run(proposeRoot, { EPOCH_FILE: wrongContract, DEPLOYMENT }), "is for contract");
    const insolvent = new PayoutTree([{ account: accounts[4], cumulative: 101n }]);
    await expectInputError(run(proposeRoot, { EPOCH_FILE: writeEpoch("insolvent.json", 1n, insolvent), DEPLOYMENT }), "fund the pool first");
    const notJson = path.join(dir, "not.json");
    fs.writeFileSync(notJson, "{ epoch: 1");
    await expectInputError(run(proposeRoot, { EPOCH_FILE: notJson, DEPLOYMENT }), "not valid JSON");
    await expectInputError(run(revokeRoot, { DEPLOYMENT }), "EPOCH");
    await expectInputError(run(acceptRoot, { DEPLOYMENT, SIGNER: "0x000000000000000000000000000000000000dEaD" }), "SIGNER");
  });

  it("the challenge window: the contract's bounds everywhere, and at least 3600 s on any chain but a local development one", function () {
    expect(checkChallengeWindow(1n, 31337)).to.equal(1n);
    expect(checkChallengeWindow(1n, 1337)).to.equal(1n);
    expect(checkChallengeWindow(3600n, 1)).to.equal(3600n);
    expect(() => checkChallengeWindow(3599n, 1)).to.throw(InputError, "below the safe minimum of 3600 s on chain 1");
    expect(() => checkChallengeWindow(60n, 8453)).to.throw(InputError, "CHALLENGE_WINDOW 60 s");
    expect(() => checkChallengeWindow(0n, 31337)).to.throw(InputError, "between 1 and 2592000");
    expect(() => checkChallengeWindow(2n ** 64n - 1n, 31337)).to.throw(InputError, "between 1 and 2592000");
  });

  it("`npx hardhat run` executes a script and reports bad input by name with exit code 1", async function () {
    const exec = promisify(execFile);
    const DEPLOYMENT = path.join(dir, "cli.json");
    const cwd = hre.config.paths.root;
    // Both runs in parallel: each `hardhat run` starts its own Node process (seconds each).
    const [ok, bad] = await Promise.all([
      exec("npx", ["hardhat", "run", "--no-compile", "scripts/deploy.ts"], { cwd, env: { ...process.env, POOL_TOKEN: "native", DEPLOYMENT } }),
      exec("npx", ["hardhat", "run", "--no-compile", "scripts/deploy.ts"], { cwd, env: { ...process.env, POOL_TOKEN: "nonsense" } }).then(
        () => ({ code: 0, stderr: "" }),
        (err: any) => ({ code: err.code as number, stderr: err.stderr as string }),
      ),
    ]);
    expect(ok.stdout).to.match(/deployed PayoutPool at 0x[0-9a-fA-F]{40}/);
    expect(JSON.parse(fs.readFileSync(DEPLOYMENT, "utf8")).network).to.equal("hardhat");
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain("error: POOL_TOKEN must be a 0x-prefixed 20-byte address");
  });
});
