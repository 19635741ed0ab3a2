/**
 * Issue 15, part 4: several pool processes on one PostgreSQL store, one committer elected among
 * them. Four processes started with `pool start --role`: a (all), b (stratum), c (committer), d
 * (api), sharing a real Bitcoin Core on regtest, a separate EVM node (anvil) with one PayoutPool,
 * and one PostgreSQL database; a miner on each front end (a, b). Exactly one candidate (a or c)
 * leads; every epoch is proposed once; the API-only process shows both front ends' miners; kill -9
 * of the leader, its epoch folder deleted as if it ran elsewhere, and the other candidate takes
 * over within seconds and carries on (its next epoch accepted); the dead leader's epochs are still
 * served from the store; every miner of both front ends is paid. Needs BITCOIND (or bitcoind on
 * PATH), PostgreSQL and anvil: skipped, saying why, without them.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { keccak256, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvilBinary } from "../src/evm/embedded";
import { connectEvm, hardhatDevKey } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";
import { Miner } from "../src/miner";
import { findBitcoind, KEY1, startRegtestNode, type RegtestNode } from "./bitcoind.helpers";
import { findPostgresUser } from "./pg.helpers";
import { getJson, waitFor } from "./pool.helpers";

const ROOT = path.join(__dirname, "..");
const MINERS = [privateKeyToAccount(hardhatDevKey(6)).address, privateKeyToAccount(hardhatDevKey(7)).address];

interface PoolProcess {
  name: string;
  child: ChildProcess;
  out: string;
  apiUrl: string;
  stratumUrl: string;
}

describe("several pool processes on one PostgreSQL: one committer elected, a standby takes over (issue 15)", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-roles-"));
  const children: ChildProcess[] = [];
  const miners: Miner[] = [];
  let node: RegtestNode | undefined;
  let pgUser = "";
  const database = `roles_${process.pid}_${Date.now() % 1_000_000}`;

  before(async function () {
    const found = findBitcoind();
    const pgFound = await findPostgresUser();
    const why = "reason" in found ? found.reason : "reason" in pgFound ? `no PostgreSQL: ${pgFound.reason}` : !anvilBinary() ? "no anvil binary for this platform" : undefined;
    if (why) {
      console.log(`      skipping the multi-process pool test: ${why}`);
      this.skip();
    }
    pgUser = (pgFound as { user: string }).user;
    const admin = new pg.Client({ host: "127.0.0.1", port: 5432, database: "test", user: pgUser });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    node = await startRegtestNode((found as { bin: string }).bin);
  });

  after(async () => {
    for (const m of miners) await m.stop().catch(() => undefined);
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill("SIGTERM");
      await Promise.race([new Promise((r) => c.once("exit", r)), new Promise((r) => setTimeout(r, 10_000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }
    await node?.stop();
    if (pgUser) {
      const admin = new pg.Client({ host: "127.0.0.1", port: 5432, database: "test", user: pgUser });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** `pool start --role ROLE` on the shared store, chain and contract; resolves once its banner is out. */
  async function startProcess(name: string, role: string, rpcUrl: string, contract: Address): Promise<PoolProcess> {
    const configFile = path.join(dir, `${name}.json`);
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: path.join(dir, name),
        stratum: { port: 0, startDifficulty: "0.00002", minDifficulty: "0.00001", targetShareSeconds: 2 },
        api: { port: 0 },
        evm: { rpcUrl, contract, operatorKey: hardhatDevKey(0), unitsPerSatoshi: "10000000000" },
        chain: { bitcoindUrl: node!.url, bitcoindUser: node!.user, bitcoindPassword: node!.password, payoutScript: KEY1.script },
        store: { postgresUrl: `postgres://${pgUser}@127.0.0.1:5432/${database}` },
        pplns: { confirmations: 1, feeBps: 0 },
        committer: { pollSeconds: 0.5 },
        log: { format: "json" },
      }),
    );
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "pool.js"), "start", "--config", configFile, "--role", role], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const p: PoolProcess = { name, child, out: "", apiUrl: "", stratumUrl: "" };
    child.stdout!.on("data", (c) => (p.out += c));
    child.stderr!.on("data", (c) => (p.out += c));
    await waitFor(`${name}'s banner`, 120_000, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${p.out.slice(-3000)}`);
      return /Contract:\s+0x/.test(p.out);
    });
    p.apiUrl = /Web \+ API:\s+(\S+)/.exec(p.out)![1];
    p.stratumUrl = /Stratum:\s+(\S+)/.exec(p.out)?.[1] ?? "";
    return p;
  }

  async function leads(p: PoolProcess): Promise<boolean> {
    const text = await (await fetch(`${p.apiUrl}/metrics`)).text();
    return /^pool_committer_leader 1$/m.test(text);
  }

  it("two front ends mine, one of two committer candidates proposes each epoch once, kill -9 of it and the other carries on; an API-only process shows the whole pool", async () => {
    // The EVM node (anvil: mines on each transaction) and one PayoutPool paying the native coin.
    const anvil = spawn(anvilBinary()!, ["--port", "0", "--chain-id", "31337"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(anvil);
    let anvilOut = "";
    anvil.stdout!.on("data", (c) => (anvilOut += c));
    const port = await waitFor("anvil", 30_000, async () => /Listening on 127\.0\.0\.1:(\d+)/.exec(anvilOut)?.[1]);
    const rpcUrl = `http://127.0.0.1:${port}`;
    const clients = await connectEvm(rpcUrl, hardhatDevKey(0));
    const { address: contract } = await deployPayoutPool(clients, {
      token: "0x0000000000000000000000000000000000000000",
      admin: clients.account!.address,
      operator: clients.account!.address,
      guardian: privateKeyToAccount(hardhatDevKey(1)).address,
      challengeWindow: 1,
      maxPause: 3600,
    });
    // Past the coinbase maturity, so that the node's chain is an ordinary one.
    await node!.call("generatetoaddress", 101, KEY1.address);

    const t0 = Date.now();
    // ROLES_TIMING=1 prints how long each phase took.
    const phase = (what: string) => process.env.ROLES_TIMING && console.log(`      ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Two front ends (a: everything, b: Stratum only), two committer candidates (a, and c: the
    // committer only), and d: the API only.
    const [a, b, c, d] = await Promise.all([
      startProcess("a", "all", rpcUrl, contract),
      startProcess("b", "stratum", rpcUrl, contract),
      startProcess("c", "committer", rpcUrl, contract),
      startProcess("d", "api", rpcUrl, contract),
    ]);
    phase("four processes up");
    expect([a.stratumUrl !== "", b.stratumUrl !== "", c.stratumUrl !== "", d.stratumUrl !== ""], "Stratum on the front ends only").to.deep.equal([true, true, false, false]);
    const candidates = [a, c];
    const leader = await waitFor("a leader", 30_000, async () => {
      const l = await Promise.all(candidates.map(leads));
      return l.filter(Boolean).length === 1 ? candidates[l.indexOf(true)] : undefined;
    });
    const standby = leader === a ? c : a;
    expect(await leads(standby), "two leaders").to.equal(false);
    expect([await leads(b), await leads(d)], "only candidates lead").to.deep.equal([false, false]);

    // A miner on each front end (on regtest every share is also a block).
    for (const [i, p] of [a, b].entries()) {
      // On regtest half of all hashes meet the network target, and the miner submits every block it
      // finds: one hash a second keeps it to a block every two seconds or so per miner.
      const m = new Miner({ url: p.stratumUrl, user: `${MINERS[i]}.rig${i}`, maxHashrate: 1 });
      miners.push(m);
      await m.start();
    }
    // The API-only process shows the whole pool: both front ends' miners and workers.
    await waitFor("both miners' workers on the API-only process", 60_000, async () => {
      const got = await Promise.all(MINERS.map(async (m) => ((await getJson(`${d.apiUrl}/api/miners/${m}`)).workers as unknown[]).length > 0));
      return got.every(Boolean);
    }, 500);
    const activeEpoch = async () => Number((await clients.publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" }))[1]);
    await waitFor("two epochs active", 120_000, async () => (await activeEpoch()) >= 2, 500);

    phase("two epochs active");
    // kill -9 the leader: its connection ends, the lock with it; the standby must take over in seconds.
    const killedAt = Date.now();
    leader.child.kill("SIGKILL");
    await new Promise<void>((r) => (leader.child.exitCode !== null || leader.child.signalCode !== null ? r() : leader.child.once("exit", () => r())));
    // As if the leader ran on another machine: its epoch folder is gone with it.
    fs.rmSync(path.join(dir, leader.name, "epochs"), { recursive: true, force: true });
    await waitFor("the standby elected", 20_000, () => leads(standby), 200);
    const takeoverMs = Date.now() - killedAt;
    console.log(`      standby elected ${takeoverMs} ms after kill -9 of the leader`);
    expect(takeoverMs).to.be.below(10_000);
    const before = await activeEpoch();
    await waitFor("another epoch active under the new leader", 120_000, async () => (await activeEpoch()) >= before + 1, 500);

    phase("an epoch under the new leader");
    // Every epoch proposed once: RootProposed's epochs are 1, 2, 3, … with no repeat.
    const events = await clients.publicClient.getContractEvents({ address: contract, abi: payoutPoolAbi, eventName: "RootProposed", fromBlock: 0n });
    const epochs = events.map((e) => Number((e.args as { epoch: bigint }).epoch));
    expect(epochs, "each epoch proposed once").to.deep.equal(epochs.map((_, i) => i + 1));
    expect(standby.out, "the survivor's log").to.not.match(/nonce too low|replacement transaction underpriced/i);
    // The dead leader's epochs are still served, byte for byte, from the store's copy of their files.
    const listed = (await getJson(`${standby.apiUrl}/api/epochs`)) as { epoch: number; dataHash: string }[];
    const first = listed.find((e) => e.epoch === 1)!;
    for (const route of ["/api/epochs/1", "/epochs/epoch-000001.json"]) {
      const res = await fetch(`${standby.apiUrl}${route}`);
      expect(res.status, route).to.equal(200);
      expect(keccak256(new Uint8Array(await res.arrayBuffer())), route).to.equal(first.dataHash);
    }
    // Both front ends' miners are paid in the newest active root (built from the shared store).
    for (const m of MINERS) {
      const miner = await getJson(`${standby.apiUrl}/api/miners/${m}`);
      expect(BigInt(miner.allocated) > 0n, `${m}'s allocation ${miner.allocated}`).to.equal(true);
    }
  });
});
