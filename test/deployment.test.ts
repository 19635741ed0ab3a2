import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { zeroAddress, type Address } from "viem";
import { ConfigError } from "../src/config";
import { connectEvm, hardhatDevKey, type EvmClients } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { startEmbeddedEvm, type EmbeddedEvm } from "../src/evm/embedded";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { deployTestBtc } from "../src/evm/testToken";
import { Miner } from "../src/miner";
import { startPool, type RunningPool } from "../src/pool";
import { OperatorAlerts } from "../src/pool/alerts";
import { Registry } from "prom-client";
import { getJson, waitFor } from "./pool.helpers";

const MINER = privateKeyToAccount(hardhatDevKey(6)).address;
const GUARDIAN = privateKeyToAccount(hardhatDevKey(1)).address;

/** Captures a pino logger's records (objects) for assertions on what the operator reads. */
function capturingLogger() {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records };
}

/**
 * A deployment as an operator runs it: a contract deployed beforehand on a node that mines only
 * when it receives a transaction (Hardhat's automine, like `npx hardhat node`), and the pool started
 * against it with evm.rpcUrl, evm.contract and evm.operatorKey.
 */
describe("deployment: a pool against a deployed contract", function () {
  this.timeout(240_000);
  let evm: EmbeddedEvm;
  let clients: EvmClients;
  const pools: RunningPool[] = [];
  let miner: Miner | undefined;

  const deploy = async (challengeWindow: number, opts: { token?: Address; operator?: Address } = {}) =>
    (
      await deployPayoutPool(clients, {
        token: opts.token ?? zeroAddress,
        admin: clients.account!.address,
        operator: opts.operator ?? clients.account!.address,
        guardian: GUARDIAN,
        challengeWindow,
        maxPause: 3600,
      })
    ).address;
  const settings = (dataDir: string, contract: Address, extra: Record<string, unknown> = {}) => ({
    dataDir,
    stratum: { port: 0, startDifficulty: "0.00005", minDifficulty: "0.00001", targetShareSeconds: 2 },
    api: { port: 0 },
    evm: { rpcUrl: evm.rpcUrl, contract, operatorKey: hardhatDevKey(0), ...((extra.evm as object) ?? {}) },
    chain: { networkDifficulty: "0.0002" },
    committer: { pollSeconds: 0.2 },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "evm")),
  });
  const start = async (overrides: Record<string, unknown>, logger = pino({ level: "silent" })) => {
    const pool = await startPool({ env: {}, overrides, logger });
    pools.push(pool);
    return pool;
  };
  const stop = async (pool: RunningPool) => {
    await miner?.stop();
    miner = undefined;
    await pool.stop();
    pools.splice(pools.indexOf(pool), 1);
  };
  const mine = async (pool: RunningPool) => {
    miner = new Miner({ url: pool.stratumUrl, user: `${MINER}.rig` });
    await miner.start();
  };
  const roots = async (contract: Address) => {
    const [active, pending] = await Promise.all([
      clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" }),
      clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" }),
    ]);
    return { active: Number(active[1]), pending: Number(pending[1]) };
  };
  const proposals = async (contract: Address) =>
    (await clients.publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootProposed", fromBlock: 0n })).length;
  const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `pool-deploy-${tag}-`));
  const refused = async (overrides: Record<string, unknown>): Promise<Error> => {
    const err = await startPool({ env: {}, overrides, logger: pino({ level: "silent" }) }).then(
      async (p) => {
        await p.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err, "the pool refused to start").to.be.instanceOf(Error);
    return err!;
  };

  before(async () => {
    evm = await startEmbeddedEvm({ port: 0 });
    clients = await connectEvm(evm.rpcUrl, hardhatDevKey(0));
  });

  after(async () => {
    await miner?.stop();
    for (const p of [...pools]) await p.stop();
    await evm?.close();
  });

  it("bug 1: accepts a root on a chain that mines only on transactions, by the wall clock, with no manual block", async () => {
    const WINDOW = 4;
    const contract = await deploy(WINDOW);
    const { logger, records } = capturingLogger();
    const pool = await start(settings(tmp("idle"), contract), logger);
    await mine(pool);
    await waitFor("epoch 1 pending", 120_000, async () => (await roots(contract)).pending === 1);
    await miner!.stop();
    miner = undefined;
    const proposed = await clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "pendingRoot" });
    const validAt = Number(proposed[3]);
    // Nothing but the committer sends transactions now: the chain's time stands still at the proposal.
    await waitFor("epoch 1 active without anyone mining a block", 30_000, async () => (await roots(contract)).active === 1);
    const acceptedAt = Number((await clients.publicClient.getBlock({ blockTag: "latest" })).timestamp);
    expect(acceptedAt, "the acceptRoot block itself is at or past validAt").to.be.gte(validAt);
    await waitFor("store marks epoch 1 accepted", 5_000, async () => (await pool.store.epoch(1))?.state === "accepted");
    expect(records.some((r) => r.msg === "root active" && r.epoch === 1), "the acceptance is logged").to.equal(true);
    await stop(pool);
  });

  it("bug 2 + 3: the API reports the contract's challenge window; a data dir of deployment A is refused against contract B, naming both", async () => {
    const dataDir = tmp("bind");
    const contractA = await deploy(1);
    const poolA = await start(settings(dataDir, contractA, { evm: { challengeWindow: 30 } }));
    // Bug 3: the configured window (30) is not the deployed contract's (1).
    expect((await getJson(`${poolA.apiUrl}/api/config`)).challengeWindow).to.equal(1);
    await mine(poolA);
    await waitFor("epoch 1 active on A", 120_000, async () => (await roots(contractA)).active >= 1);
    await stop(poolA);
    expect(fs.readdirSync(path.join(dataDir, "epochs")).some((f) => /^epoch-000001\.json$/.test(f))).to.equal(true);

    const contractB = await deploy(60);
    const err = await refused(settings(dataDir, contractB));
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.message).to.contain("evm.contract");
    expect(err.message.toLowerCase()).to.contain(contractA.toLowerCase());
    expect(err.message.toLowerCase()).to.contain(contractB.toLowerCase());
    expect(err.message).to.contain("shares.sqlite");
    expect(await proposals(contractB), "nothing was proposed to B").to.equal(0);

    // A fresh store with A's epoch files copied in is refused too, naming the file.
    const copied = tmp("copied");
    fs.cpSync(path.join(dataDir, "epochs"), path.join(copied, "epochs"), { recursive: true });
    const fileErr = await refused(settings(copied, contractB));
    expect(fileErr.message).to.match(/epoch file .*epoch-000001\.json belongs to contract/);
    expect(fileErr.message.toLowerCase()).to.contain(contractA.toLowerCase());
    expect(fileErr.message.toLowerCase()).to.contain(contractB.toLowerCase());
    expect(await proposals(contractB)).to.equal(0);

    // Bug 3 against B: its own 60 s, whatever the configuration says.
    const poolB = await start(settings(tmp("b"), contractB, { evm: { challengeWindow: 5 } }));
    const config = await getJson(`${poolB.apiUrl}/api/config`);
    expect(config.challengeWindow).to.equal(60);
    expect(config.maxPause).to.equal(3600);
    await stop(poolB);
  });

  it("checks every external part at start and names the setting", async () => {
    const contract = await deploy(1);
    const dir = tmp("checks");
    const noCode = privateKeyToAccount(generatePrivateKey()).address;

    let err = await refused(settings(dir, contract, { evm: { rpcUrl: "http://127.0.0.1:1" } }));
    expect(err.message).to.contain("evm.rpcUrl").and.to.contain("http://127.0.0.1:1");

    err = await refused(settings(dir, noCode));
    expect(err.message).to.contain("evm.contract").and.to.contain(`no contract at ${noCode}`);

    const token = (await deployTestBtc(clients)).address;
    err = await refused(settings(dir, token));
    expect(err.message).to.contain("evm.contract").and.to.contain("is not a PayoutPool");

    err = await refused(settings(dir, contract, { evm: { token: noCode } }));
    expect(err.message).to.contain("evm.token");

    err = await refused(settings(dir, contract, { evm: { operatorKey: hardhatDevKey(7) } }));
    expect(err.message).to.contain("evm.operatorKey").and.to.contain("does not hold OPERATOR_ROLE");

    const broke = generatePrivateKey();
    const brokeOperator = await deploy(1, { operator: privateKeyToAccount(broke).address });
    err = await refused(settings(dir, brokeOperator, { evm: { operatorKey: broke } }));
    expect(err.message).to.contain("evm.operatorKey").and.to.contain("no native coin");

    err = await refused(settings(dir, contract, { store: { postgresUrl: "postgres://pool:secret@127.0.0.1:1/pool" } }));
    expect(err.message).to.contain("store.postgresUrl").and.to.contain("ECONNREFUSED");
    expect(err.message, "the password is not printed").to.not.contain("secret");

    err = await refused(
      settings(dir, contract, { chain: { bitcoindUrl: "http://127.0.0.1:1", bitcoindCookie: path.join(dir, "no-such.cookie"), payoutScript: "0014" + "11".repeat(20) } }),
    );
    expect(err.message).to.contain("chain.bitcoindCookie").and.to.contain("no-such.cookie");

    err = await refused(settings(dir, contract, { chain: { bitcoindUrl: "http://127.0.0.1:1", bitcoindUser: "u", bitcoindPassword: "p", payoutScript: "0014" + "11".repeat(20) } }));
    expect(err.message).to.contain("chain.bitcoindUrl").and.to.contain("http://127.0.0.1:1");

    const deploymentFile = path.join(dir, "record.json");
    fs.writeFileSync(deploymentFile, JSON.stringify({ chainId: 1, address: contract, token: null }));
    err = await refused({ ...settings(dir, contract), evm: { rpcUrl: evm.rpcUrl, operatorKey: hardhatDevKey(0), deployment: deploymentFile } });
    expect(err.message).to.contain("evm.deployment").and.to.contain("is for chain 1");
  });

  it("tells the operator what needs them: low gas, an underfunded contract, a revoked epoch waiting for rebuild-epoch", async () => {
    const contract = await deploy(3600);
    const { logger, records } = capturingLogger();
    const pool = await start(settings(tmp("alerts"), contract, { committer: { pollSeconds: 0.2, fundEpochs: false }, evm: { minOperatorBalance: "1000000" } }), logger);
    const metric = async (name: string) => {
      const text = await (await fetch(`${pool.apiUrl}/metrics`)).text();
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const alerted = (msg: RegExp) => records.some((r) => r.part === "alerts" && msg.test(String(r.msg)));
    await waitFor("the low-gas alert", 10_000, async () => (await metric("pool_alert_operator_balance_low")) === 1);
    expect(alerted(/operator key is low on gas coin/)).to.equal(true);

    await mine(pool);
    await waitFor("the underfunded alert", 120_000, async () => (await metric("pool_alert_contract_underfunded")) === 1);
    expect((await metric("pool_contract_shortfall"))!).to.be.greaterThan(0);
    expect(alerted(/contract is underfunded for the next root/)).to.equal(true);
    expect(await proposals(contract), "nothing proposed while underfunded").to.equal(0);
    await miner!.stop();
    miner = undefined;

    // Funded from another account: the root goes out, the alert clears.
    const funder = await connectEvm(evm.rpcUrl, hardhatDevKey(3));
    const hash = await funder.walletClient!.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "fund", args: [10n ** 18n], value: 10n ** 18n });
    await clients.publicClient.waitForTransactionReceipt({ hash });
    await waitFor("epoch 1 pending", 30_000, async () => (await roots(contract)).pending === 1);
    await waitFor("the underfunded alert cleared", 10_000, async () => (await metric("pool_alert_contract_underfunded")) === 0);

    // The guardian revokes it: the pool waits for the operator, and says so.
    const epoch = (await pool.store.epoch(1))!;
    const guardian = await connectEvm(evm.rpcUrl, hardhatDevKey(1));
    const revoke = await guardian.walletClient!.writeContract({ address: contract, abi: payoutPoolAbi, functionName: "revokeRoot", args: [1n, epoch.root as `0x${string}`] });
    await clients.publicClient.waitForTransactionReceipt({ hash: revoke });
    await waitFor("the revoked-epoch alert", 20_000, async () => (await metric("pool_alert_revoked_epoch_waiting")) === 1);
    expect(alerted(/epoch 1 was revoked and waits for `pool rebuild-epoch`/)).to.equal(true);
    // Said once, not at every check (the alerts run every ~1 s here): wait for a few more checks.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await metric("pool_alert_revoked_epoch_waiting")).to.equal(1);
    expect(records.filter((r) => r.part === "alerts" && /was revoked and waits for/.test(String(r.msg))), "one log line").to.have.length(1);
    expect(await metric("pool_alert_root_overdue_seconds")).to.equal(0);
    await stop(pool);
  });

  it("alerts on a root pending past its validAt that is not accepted (the operator key ran out of gas): gauge > 0, one log line", async () => {
    // An operator key of its own, with gas to propose, drained once the root is pending: acceptRoot cannot be sent.
    const key = generatePrivateKey();
    const operator = privateKeyToAccount(key).address;
    const setBalance = (wei: bigint) => clients.publicClient.request({ method: "hardhat_setBalance" as never, params: [operator, `0x${wei.toString(16)}`] as never });
    await setBalance(10n ** 19n);
    const WINDOW = 3;
    const contract = await deploy(WINDOW, { operator });
    const { logger, records } = capturingLogger();
    const pool = await start(settings(tmp("overdue"), contract, { evm: { operatorKey: key } }), logger);
    const metric = async (name: string) => {
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${pool.apiUrl}/metrics`)).text());
      return m ? Number(m[1]) : undefined;
    };
    await mine(pool);
    await waitFor("epoch 1 pending", 120_000, async () => (await roots(contract)).pending === 1);
    await setBalance(0n);
    await miner!.stop();
    miner = undefined;
    // The committer's estimate of the chain's time (latest block + wall time since), not the wall
    // clock: earlier test files move the shared in-process chain's clock ahead of this machine's.
    await waitFor("the committer's chain time past validAt", 30_000, async () => pool.committer!.overdueSeconds > 2, 500);
    expect((await roots(contract)).pending, "the drained key could not accept the root").to.equal(1);
    expect((await roots(contract)).active).to.equal(0);

    // The pool's own gauge, read by Prometheus.
    await waitFor("pool_alert_root_overdue_seconds > 0", 20_000, async () => ((await metric("pool_alert_root_overdue_seconds")) ?? 0) > 0);
    // The log line, from the same alert checks run on the pool's own committer, store and chain with
    // a 1-s threshold (the pool's is 60 s): said once however often the check runs.
    const alerts = new OperatorAlerts({
      store: pool.store,
      evm: pool.evm,
      contract,
      asset: pool.asset,
      committer: pool.committer!,
      fundEpochs: true,
      minOperatorBalance: "0",
      registry: new Registry(),
      logger: logger.child({ part: "overdue-check" }) as never,
      overdueAfterSeconds: 1,
    });
    let state = await alerts.check();
    for (let i = 0; i < 3 && state.rootOverdueSeconds <= 1; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      state = await alerts.check();
    }
    expect(state.rootOverdueSeconds).to.be.greaterThan(1);
    await alerts.check();
    await alerts.check();
    const lines = records.filter((r) => r.part === "overdue-check" && /a root is pending past the time it could be accepted/.test(String(r.msg)));
    expect(lines, "one log line").to.have.length(1);
    expect(lines[0].overdueSeconds).to.be.greaterThan(0);
    expect(records.some((r) => r.msg === "committer step failed; retrying"), "the committer says why it could not accept").to.equal(true);

    // Gas again: the root is accepted and the gauge returns to 0.
    await setBalance(10n ** 19n);
    await waitFor("epoch 1 active", 30_000, async () => (await roots(contract)).active === 1);
    await waitFor("the overdue gauge back to 0", 20_000, async () => (await metric("pool_alert_root_overdue_seconds")) === 0);
    await stop(pool);
  });

  it("keeps the hash rate of the last hour across a restart (the shares are in the store)", async () => {
    const contract = await deploy(3600);
    const dir = tmp("hashrate");
    const first = await start(settings(dir, contract));
    await mine(first);
    await waitFor("a few shares", 60_000, async () => (await first.store.shareCount()) >= 5);
    await miner!.stop();
    miner = undefined;
    // The series shows completed 10-s buckets only: wait for the last share's bucket to complete, so
    // that "before" has it (else a restart that crosses the boundary shows one bucket more after).
    await new Promise((r) => setTimeout(r, (Math.floor(Date.now() / 10_000) + 1) * 10_000 - Date.now() + 50));
    const before = await getJson(`${first.apiUrl}/api/hashrate?address=${MINER}`);
    expect(before.points.length, "the shares' buckets, complete").to.be.greaterThan(0);
    const rateBefore = (await getJson(`${first.apiUrl}/api/miners/${MINER}`)).hashrate;
    expect(rateBefore).to.be.greaterThan(0);
    await stop(first);

    const second = await start(settings(dir, contract));
    const after = await getJson(`${second.apiUrl}/api/hashrate?address=${MINER}`);
    expect(after.points.map((p: { t: number }) => p.t), "the same 10-s buckets").to.deep.equal(before.points.map((p: { t: number }) => p.t));
    expect(after.points.map((p: { hashrate: number }) => p.hashrate)).to.deep.equal(before.points.map((p: { hashrate: number }) => p.hashrate));
    const rateAfter = (await getJson(`${second.apiUrl}/api/miners/${MINER}`)).hashrate;
    expect(rateAfter).to.be.greaterThan(0);
    expect(rateAfter).to.be.at.most(rateBefore); // the same shares, a little older
    await stop(second);
  });

  it("reads the contract from a deployment record (evm.deployment) instead of evm.contract", async () => {
    const contract = await deploy(1);
    const dir = tmp("record");
    const file = path.join(dir, "localhost.json");
    fs.writeFileSync(file, JSON.stringify({ network: "localhost", chainId: 31337, address: contract, token: null, challengeWindow: 1, blockNumber: 1 }));
    const pool = await start({ ...settings(dir, contract), evm: { rpcUrl: evm.rpcUrl, operatorKey: hardhatDevKey(0), deployment: file } });
    expect(pool.contract.toLowerCase()).to.equal(contract.toLowerCase());
    expect(pool.asset).to.deep.equal({ token: null, symbol: "ETH", decimals: 18, unitsPerSatoshi: "1" });
    await stop(pool);
  });
});

describe("deployment: PostgreSQL database that does not exist", function () {
  this.timeout(60_000);
  it("names store.postgresUrl and says to create it", async function () {
    const { findPostgresUser } = await import("./pg.helpers");
    const found = await findPostgresUser();
    if ("reason" in found) {
      console.log(`    (skipped: no PostgreSQL on 127.0.0.1:5432: ${found.reason})`);
      return this.skip();
    }
    const url = `postgres://${found.user}@127.0.0.1:5432/no_such_pool_db_${process.pid}`;
    const err = await startPool({
      env: {},
      logger: pino({ level: "silent" }),
      overrides: { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "pool-pgdb-")), stratum: { port: 0 }, api: { port: 0 }, evm: { embeddedPort: 0, challengeWindow: 1 }, store: { postgresUrl: url } },
    }).then(
      async (p) => {
        await p.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect(err!.message).to.contain("store.postgresUrl").and.to.contain("does not exist").and.to.contain("createdb");
  });
});

