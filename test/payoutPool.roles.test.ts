import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { decodeErrorResult, keccak256, parseEther, toHex, zeroAddress, type Abi, type Address, type Hex } from "viem";
import { PayoutTree } from "../src/merkle";

/**
 * The trust model of docs/contract.md ("Roles"), one test per sentence, each played the way a
 * dishonest holder of that role (or pair of roles) would, on a native pool with the project's test
 * values: a 1-hour challenge window and a 7-day maximum pause. The attack of issue 13 (pause, then
 * propose a root that moves everything to the attacker, so that the window passes while nobody can
 * claim) is the centre: it must leave every miner a whole open window to leave under the old root.
 */

const WINDOW = 3600n;
const MAX_PAUSE = 7n * 24n * 3600n;
const FUNDS = parseEther("100");
const poolAbi = hre.artifacts.readArtifactSync("PayoutPool").abi as Abi;

async function errorOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    for (let e: any = err; e; e = e.cause) {
      const data = e.raw ?? (typeof e.data === "string" ? e.data : undefined);
      if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return decodeErrorResult({ abi: poolAbi, data: data as Hex }).errorName;
    }
    throw err;
  }
  return "ok";
}

async function deploy() {
  const [admin, operator, guardian, alice, bob, outsider] = await hre.viem.getWalletClients();
  const publicClient = await hre.viem.getPublicClient();
  const pool = await hre.viem.deployContract("PayoutPool", [zeroAddress, admin.account.address, operator.account.address, guardian.account.address, WINDOW, MAX_PAUSE]);
  await pool.write.fund([FUNDS], { value: FUNDS });
  const as = (w: typeof admin) => hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet: w } });
  const asOperator = await as(operator);
  const asGuardian = await as(guardian);
  const asOutsider = await as(outsider);
  // Epoch 1: alice 60, bob 40 (coin); the honest state every attack starts from.
  const honest = new PayoutTree([
    { account: alice.account.address, cumulative: parseEther("60") },
    { account: bob.account.address, cumulative: parseEther("40") },
  ]);
  await asOperator.write.proposeRoot([1n, honest.root, honest.total, keccak256("0x01"), ""]);
  await time.increase(WINDOW);
  await asOutsider.write.acceptRoot();
  // The fraud: everything to the attacker, total unchanged (so the chain's checks all pass).
  const fraudFor = (attacker: Address) =>
    new PayoutTree([
      { account: alice.account.address, cumulative: 1n },
      { account: bob.account.address, cumulative: 1n },
      { account: attacker, cumulative: honest.total - 2n },
    ]);
  const balance = (a: Address) => publicClient.getBalance({ address: a });
  const claimVia = (tree: PayoutTree, account: Address) => {
    const l = tree.proofFor(account)!;
    return asOutsider.write.claim([account, l.cumulative, l.proof as Hex[]]);
  };
  return { pool, publicClient, admin, operator, guardian, alice, bob, outsider, asOperator, asGuardian, asOutsider, honest, fraudFor, balance, claimVia, roles: { OPERATOR: await pool.read.OPERATOR_ROLE(), GUARDIAN: await pool.read.GUARDIAN_ROLE(), ADMIN: await pool.read.DEFAULT_ADMIN_ROLE() } };
}

type F = Awaited<ReturnType<typeof deploy>>;

/**
 * The attack of issue 13 by whoever holds `proposer` (operator role) and `pauser` (guardian role):
 * pause, propose the fraud at once, and accept it at the first moment the contract allows. Returns
 * how long claims under the honest root were open (no pause) between the proposal and the accept.
 */
async function pauseThenFraud(f: F, proposer: Pick<F["pool"], "write">, pauser: Pick<F["pool"], "write">, attacker: Address) {
  await pauser.write.pause();
  const pausedUntil = await f.pool.read.pausedUntil();
  const fraud = f.fraudFor(attacker);
  await proposer.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]);
  const proposedAt = BigInt(await time.latest());
  // At the old validAt (proposal + window), while still paused: refused.
  await time.increaseTo(proposedAt + WINDOW);
  expect(await errorOf(f.asOutsider.write.acceptRoot())).to.equal("ChallengeWindowOpen");
  const readyAt = await f.pool.read.acceptableAt();
  expect(readyAt).to.equal(pausedUntil + WINDOW);
  await time.increaseTo(readyAt - 1n);
  await f.asOutsider.write.acceptRoot(); // mined at readyAt
  return { fraud, openSeconds: readyAt - pausedUntil };
}

describe("PayoutPool roles: what each role and each pair can and cannot do (docs/contract.md)", function () {
  describe("operator", function () {
    it("can propose the next root, which no one can accept before a whole challenge window with claims open", async function () {
      const f = await loadFixture(deploy);
      const next = new PayoutTree([{ account: f.alice.account.address, cumulative: parseEther("70") }, { account: f.bob.account.address, cumulative: parseEther("30") }]);
      await f.asOperator.write.proposeRoot([2n, next.root, next.total, keccak256("0x02"), ""]);
      expect(await errorOf(f.asOperator.write.acceptRoot())).to.equal("ChallengeWindowOpen");
      await time.increase(WINDOW);
      expect(await errorOf(f.asOutsider.write.acceptRoot())).to.equal("ok"); // anyone, once the contract allows it
    });

    it("cannot propose more than was funded, lower the total, skip an epoch, revoke, pause, withdraw or grant roles", async function () {
      const f = await loadFixture(deploy);
      const over = new PayoutTree([{ account: f.operator.account.address, cumulative: FUNDS + 1n }]);
      expect(await errorOf(f.asOperator.write.proposeRoot([2n, over.root, over.total, keccak256("0x02"), ""]))).to.equal("Insolvent");
      const lower = new PayoutTree([{ account: f.operator.account.address, cumulative: 1n }]);
      expect(await errorOf(f.asOperator.write.proposeRoot([2n, lower.root, lower.total, keccak256("0x02"), ""]))).to.equal("TotalDecreased");
      expect(await errorOf(f.asOperator.write.proposeRoot([3n, f.honest.root, f.honest.total, keccak256("0x02"), ""]))).to.equal("EpochNotNext");
      const fraud = f.fraudFor(f.operator.account.address);
      await f.asOperator.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]);
      expect(await errorOf(f.asOperator.write.revokeRoot([2n, fraud.root]))).to.equal("AccessControlUnauthorizedAccount");
      expect(await errorOf(f.asOperator.write.pause())).to.equal("AccessControlUnauthorizedAccount");
      expect(await errorOf(f.asOperator.write.withdrawSurplus([f.operator.account.address, 1n]))).to.equal("AccessControlUnauthorizedAccount");
      expect(await errorOf(f.asOperator.write.grantRole([f.roles.GUARDIAN, f.operator.account.address]))).to.equal("AccessControlUnauthorizedAccount");
    });

    it("cannot move allocated funds: a root that moves them leaves every miner a whole window to claim under the old one", async function () {
      const f = await loadFixture(deploy);
      const fraud = f.fraudFor(f.operator.account.address);
      await f.asOperator.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]);
      const before = await f.balance(f.alice.account.address);
      await f.claimVia(f.honest, f.alice.account.address); // inside the window
      expect((await f.balance(f.alice.account.address)) - before).to.equal(parseEther("60"));
      await time.increase(WINDOW);
      await f.asOutsider.write.acceptRoot();
      // What the fraud can take is only what miners left: bob did not claim, alice did.
      expect(await errorOf(f.claimVia(fraud, f.alice.account.address))).to.equal("NothingToClaim");
    });
  });

  describe("guardian", function () {
    it("can revoke the pending root, named by epoch and root; a second, late revoke cannot kill the corrected re-proposal", async function () {
      const f = await loadFixture(deploy);
      const bad = f.fraudFor(f.operator.account.address);
      await f.asOperator.write.proposeRoot([2n, bad.root, bad.total, keccak256("0x02"), ""]);
      await f.asGuardian.write.revokeRoot([2n, bad.root]); // the first watchtower
      const corrected = new PayoutTree([
        { account: f.alice.account.address, cumulative: parseEther("61") },
        { account: f.bob.account.address, cumulative: parseEther("39") },
      ]);
      await f.asOperator.write.proposeRoot([2n, corrected.root, corrected.total, keccak256("0x03"), ""]);
      // The second watchtower's revoke of the same (epoch 2, bad root) arrives late.
      expect(await errorOf(f.asGuardian.write.revokeRoot([2n, bad.root]))).to.equal("PendingRootMismatch");
      expect((await f.pool.read.pendingRoot())[0]).to.equal(corrected.root);
      await time.increase(WINDOW);
      await f.asOutsider.write.acceptRoot();
      expect((await f.pool.read.activeRoot())[0]).to.equal(corrected.root);
    });

    it("can pause claims for at most maxPause, which ends by itself, and not again until maxPause after", async function () {
      const f = await loadFixture(deploy);
      await f.asGuardian.write.pause();
      const until = await f.pool.read.pausedUntil();
      expect(until).to.equal(BigInt(await time.latest()) + MAX_PAUSE);
      expect(await errorOf(f.claimVia(f.honest, f.alice.account.address))).to.equal("Paused");
      await time.increaseTo(until);
      expect(await errorOf(f.claimVia(f.honest, f.alice.account.address))).to.equal("ok");
      expect(await errorOf(f.asGuardian.write.pause())).to.equal("PauseNotAllowed");
    });

    it("cannot propose, accept early, withdraw, grant roles, or change the active root", async function () {
      const f = await loadFixture(deploy);
      const fraud = f.fraudFor(f.guardian.account.address);
      expect(await errorOf(f.asGuardian.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]))).to.equal("AccessControlUnauthorizedAccount");
      expect(await errorOf(f.asGuardian.write.withdrawSurplus([f.guardian.account.address, 1n]))).to.equal("AccessControlUnauthorizedAccount");
      expect(await errorOf(f.asGuardian.write.grantRole([f.roles.OPERATOR, f.guardian.account.address]))).to.equal("AccessControlUnauthorizedAccount");
      expect(await errorOf(f.asGuardian.write.revokeRoot([1n, f.honest.root]))).to.equal("NoPendingRoot"); // the active root is out of reach
      expect((await f.pool.read.activeRoot())[0]).to.equal(f.honest.root);
      const next = new PayoutTree([{ account: f.alice.account.address, cumulative: parseEther("60") }, { account: f.bob.account.address, cumulative: parseEther("40") }, { account: f.guardian.account.address, cumulative: 0n }]);
      await f.asOperator.write.proposeRoot([2n, next.root, next.total, keccak256("0x02"), ""]);
      expect(await errorOf(f.asGuardian.write.acceptRoot())).to.equal("ChallengeWindowOpen"); // no early accept for anyone
    });
  });

  describe("admin", function () {
    it("can withdraw only the surplus: nothing an active or pending root allocates", async function () {
      const f = await loadFixture(deploy);
      expect(await f.pool.read.surplus()).to.equal(0n);
      expect(await errorOf(f.pool.write.withdrawSurplus([f.admin.account.address, 1n]))).to.equal("SurplusExceeded");
      await f.pool.write.fund([10n], { value: 10n });
      await f.pool.write.withdrawSurplus([f.admin.account.address, 10n]);
      expect(await f.pool.read.totalFunded()).to.equal(f.honest.total);
    });

    it("can grant itself both other roles, and then can do no more than the operator and guardian together", async function () {
      const f = await loadFixture(deploy);
      const me = f.admin.account.address;
      await f.pool.write.grantRole([f.roles.OPERATOR, me]);
      await f.pool.write.grantRole([f.roles.GUARDIAN, me]);
      const { fraud, openSeconds } = await pauseThenFraud(f, f.pool, f.pool, me);
      expect(openSeconds).to.equal(WINDOW);
      expect((await f.pool.read.activeRoot())[0]).to.equal(fraud.root);
    });
  });

  describe("pairs", function () {
    it("operator + guardian: a pause covering the window does not stop miners from leaving under the old root before the fraud takes effect", async function () {
      const f = await loadFixture(deploy);
      const attacker = f.operator.account.address;
      await f.asGuardian.write.pause();
      const pausedUntil = await f.pool.read.pausedUntil();
      const fraud = f.fraudFor(attacker);
      await f.asOperator.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]);
      // At every point before the pause ends, the fraud cannot be accepted.
      for (const at of [BigInt(await time.latest()) + WINDOW, pausedUntil - 1n]) {
        await time.increaseTo(at);
        expect(await errorOf(f.asOutsider.write.acceptRoot()), `at ${at}`).to.equal("ChallengeWindowOpen");
      }
      // The pause ends: both miners leave under the honest root before the fraud can be accepted.
      const a0 = await f.balance(f.alice.account.address);
      const b0 = await f.balance(f.bob.account.address);
      await f.claimVia(f.honest, f.alice.account.address);
      await f.claimVia(f.honest, f.bob.account.address);
      expect((await f.balance(f.alice.account.address)) - a0).to.equal(parseEther("60"));
      expect((await f.balance(f.bob.account.address)) - b0).to.equal(parseEther("40"));
      expect(await errorOf(f.asOutsider.write.acceptRoot())).to.equal("ChallengeWindowOpen");
      await time.increaseTo(pausedUntil + WINDOW);
      await f.asOutsider.write.acceptRoot();
      // The attacker's leaf pays only what is left: nothing of the miners'.
      const before = await f.balance(f.pool.address);
      expect(before).to.equal(0n);
      expect(await errorOf(f.claimVia(fraud, attacker))).to.equal("NativeTransferFailed");
    });

    it("operator + guardian: pausing again just before the accept restarts the open window, it never shortens it", async function () {
      const f = await loadFixture(deploy);
      const fraud = f.fraudFor(f.operator.account.address);
      await f.asOperator.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]);
      await time.increase(WINDOW - 10n);
      await f.asGuardian.write.pause(); // 10 s before validAt
      const until = await f.pool.read.pausedUntil();
      expect(await f.pool.read.acceptableAt()).to.equal(until + WINDOW);
      await time.increaseTo(until + WINDOW - 2n);
      expect(await errorOf(f.asOutsider.write.acceptRoot())).to.equal("ChallengeWindowOpen");
      expect(await errorOf(f.claimVia(f.honest, f.alice.account.address))).to.equal("ok");
    });

    it("operator + guardian: can stop new roots from ever becoming active (liveness), never the active root from paying", async function () {
      const f = await loadFixture(deploy);
      const next = new PayoutTree([{ account: f.alice.account.address, cumulative: parseEther("70") }, { account: f.bob.account.address, cumulative: parseEther("30") }]);
      await f.asOperator.write.proposeRoot([2n, next.root, next.total, keccak256("0x02"), ""]);
      await f.asGuardian.write.revokeRoot([2n, next.root]);
      expect(await errorOf(f.asOutsider.write.acceptRoot())).to.equal("NoPendingRoot");
      expect(await errorOf(f.claimVia(f.honest, f.bob.account.address))).to.equal("ok");
    });

    it("operator + admin: cannot take allocated funds (surplus only; a moved root still waits a whole open window)", async function () {
      const f = await loadFixture(deploy);
      const fraud = f.fraudFor(f.admin.account.address);
      await f.asOperator.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]);
      expect(await errorOf(f.pool.write.withdrawSurplus([f.admin.account.address, 1n]))).to.equal("SurplusExceeded");
      expect(await errorOf(f.asOutsider.write.acceptRoot())).to.equal("ChallengeWindowOpen");
      expect(await errorOf(f.claimVia(f.honest, f.alice.account.address))).to.equal("ok");
    });

    it("guardian + admin: cannot propose, so cannot move anything; pause and revoke stay bounded", async function () {
      const f = await loadFixture(deploy);
      await f.asGuardian.write.pause();
      expect(await errorOf(f.pool.write.withdrawSurplus([f.admin.account.address, 1n]))).to.equal("SurplusExceeded");
      const fraud = f.fraudFor(f.admin.account.address);
      expect(await errorOf(f.pool.write.proposeRoot([2n, fraud.root, fraud.total, keccak256("0x02"), ""]))).to.equal("AccessControlUnauthorizedAccount");
      await time.increaseTo(await f.pool.read.pausedUntil());
      expect(await errorOf(f.claimVia(f.honest, f.alice.account.address))).to.equal("ok");
    });
  });

  describe("anyone", function () {
    it("can fund, accept once the contract allows it, and claim for any account (the funds go to the account)", async function () {
      const f = await loadFixture(deploy);
      const asOutsider = f.asOutsider;
      await asOutsider.write.fund([5n], { value: 5n });
      const before = await f.balance(f.bob.account.address);
      await f.claimVia(f.honest, f.bob.account.address);
      expect((await f.balance(f.bob.account.address)) - before).to.equal(parseEther("40"));
      expect(toHex(await f.pool.read.totalFunded())).to.equal(toHex(FUNDS + 5n));
    });
  });
});
