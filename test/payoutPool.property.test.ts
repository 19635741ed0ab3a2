import { expect } from "chai";
import hre from "hardhat";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox-viem/network-helpers";
import { decodeErrorResult, getAddress, keccak256, toHex, zeroAddress, type Abi, type Address, type Hex } from "viem";
import { PayoutTree, verifyProof } from "../src/merkle";

/**
 * Model-based property test: random sequences of fundings, proposals, accepts, revokes, claims
 * (single and batched, with current and stale proofs), pauses, waits and surplus withdrawals. Every
 * call's outcome is predicted by a small model and compared with the chain; after every step the
 * invariants of issue 6 are checked on chain.
 */

const WINDOW = 100n;
const MAX_PAUSE = 1000n;
const ACCOUNTS = 4;
const poolAbi = hre.artifacts.readArtifactSync("PayoutPool").abi as Abi;

type Action =
  | { kind: "fund"; amount: bigint }
  | { kind: "propose"; deltas: bigint[] }
  | { kind: "accept" }
  | { kind: "revoke" }
  | { kind: "claim"; who: number; stale: boolean }
  | { kind: "claimMany"; who: number[] }
  | { kind: "pause" }
  | { kind: "wait"; seconds: number }
  | { kind: "withdraw"; percentOfSurplus: number };

// Weighted so that most runs get funded roots, claims and an occasional pause or revoke.
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fund" as const), amount: fc.bigInt({ min: 1n, max: 5000n }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("propose" as const),
      deltas: fc.array(fc.bigInt({ min: 0n, max: 300n }), { minLength: ACCOUNTS, maxLength: ACCOUNTS }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "accept" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "revoke" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("claim" as const),
      who: fc.integer({ min: 0, max: ACCOUNTS - 1 }),
      stale: fc.integer({ min: 0, max: 3 }).map((x) => x === 0), // a quarter use the previous root's proof
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("claimMany" as const), who: fc.subarray([0, 1, 2, 3], { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "pause" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), percentOfSurplus: fc.integer({ min: 1, max: 130 }) }) },
);

async function deploy(asset: "erc20" | "native") {
  const wallets = await hre.viem.getWalletClients();
  const [admin, operator, guardian, relayer, surplusSink] = wallets;
  // Claimants never send a transaction, so their balances move only by what the pool pays them.
  const claimants = wallets.slice(10, 10 + ACCOUNTS).map((w) => getAddress(w.account.address));
  const publicClient = await hre.viem.getPublicClient();
  const token = asset === "erc20" ? await hre.viem.deployContract("MockERC20", ["Reward", "RWD"]) : undefined;
  const pool = await hre.viem.deployContract("PayoutPool", [
    token?.address ?? zeroAddress,
    admin.account.address,
    operator.account.address,
    guardian.account.address,
    WINDOW,
    MAX_PAUSE,
  ]);
  if (token) {
    await token.write.mint([admin.account.address, 10n ** 24n]);
    await token.write.approve([pool.address, 10n ** 24n]);
  }
  const as = (wallet: (typeof wallets)[number]) => hre.viem.getContractAt("PayoutPool", pool.address, { client: { wallet } });
  const balanceOf = async (a: Address) => (token ? token.read.balanceOf([a]) : publicClient.getBalance({ address: a }));
  const initialBalances = await Promise.all(claimants.map(balanceOf));
  const start = BigInt((await time.latest()) + 10);
  return {
    pool,
    publicClient,
    claimants,
    surplusSink: surplusSink.account.address,
    initialBalances,
    start,
    asOperator: await as(operator),
    asGuardian: await as(guardian),
    asRelayer: await as(relayer),
    balanceOf,
    fund: (amount: bigint) => (token ? pool.write.fund([amount]) : pool.write.fund([amount], { value: amount })),
  };
}

interface Model {
  now: bigint;
  totalFunded: bigint;
  active?: { tree: PayoutTree; epoch: bigint; cumulative: bigint[] };
  previousActive?: PayoutTree;
  pending?: { tree: PayoutTree; epoch: bigint; validAt: bigint; cumulative: bigint[] };
  pausedUntil: bigint;
  claimed: bigint[];
}

/** Runs `call` and returns the custom error name, or "ok". */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (err) {
    for (let e: any = err; e; e = e.cause) {
      const data = e.raw ?? (typeof e.data === "string" ? e.data : undefined);
      if (typeof data === "string" && data.startsWith("0x")) return decodeErrorResult({ abi: poolAbi, data: data as Hex }).errorName;
    }
    throw err;
  }
}

async function runScenario(asset: "erc20" | "native", actions: Action[], fixture: () => ReturnType<typeof deploy>) {
  const f = await loadFixture(fixture);
  const m: Model = { now: f.start, totalFunded: 0n, pausedUntil: 0n, claimed: Array(ACCOUNTS).fill(0n) };
  const paid: bigint[] = Array(ACCOUNTS).fill(0n); // sum of Claimed and ClaimedMany amounts per account
  const send = async (call: () => Promise<Hex>) => {
    m.now += 1n;
    await time.setNextBlockTimestamp(m.now);
    return outcome(async () => {
      const hash = await call();
      const receipt = await f.publicClient.getTransactionReceipt({ hash });
      for (const e of await f.pool.getEvents.Claimed({}, { blockHash: receipt.blockHash })) {
        paid[f.claimants.indexOf(e.args.account!)] += e.args.amount!;
      }
      for (const e of await f.pool.getEvents.ClaimedMany({ blockHash: receipt.blockHash })) {
        for (const p of e.args.payments!) paid[f.claimants.indexOf(p.account)] += p.amount;
      }
    });
  };
  const activeCumulative = (i: number) => m.active?.cumulative[i] ?? 0n;
  const paused = () => m.now + 1n < m.pausedUntil; // the next transaction is mined at now + 1

  /** What claiming for claimant i with `tree`'s proof should do; updates the model on success. */
  const expectClaim = (i: number, tree: PayoutTree | undefined) => {
    if (paused()) return { expected: "Paused" };
    const leaf = tree?.proofFor(f.claimants[i]);
    if (!leaf || !m.active || !verifyProof(m.active.tree.root, leaf.account, leaf.cumulative, leaf.proof)) return { expected: "InvalidProof", leaf };
    if (leaf.cumulative <= m.claimed[i]) return { expected: "NothingToClaim", leaf };
    return { expected: "ok", leaf };
  };

  for (const action of actions) {
    switch (action.kind) {
      case "fund": {
        expect(await send(() => f.fund(action.amount))).to.equal("ok");
        m.totalFunded += action.amount;
        break;
      }
      case "propose": {
        const epoch = (m.active?.epoch ?? 0n) + 1n;
        const cumulative = action.deltas.map((d, i) => activeCumulative(i) + d);
        const tree = new PayoutTree(cumulative.map((c, i) => ({ account: f.claimants[i], cumulative: c })));
        const expected = m.pending ? "PendingRootExists" : tree.total > m.totalFunded ? "Insolvent" : "ok";
        const got = await send(() => f.asOperator.write.proposeRoot([epoch, tree.root, tree.total, keccak256(toHex(`e${epoch}`)), ""]));
        expect(got).to.equal(expected);
        if (got === "ok") m.pending = { tree, epoch, validAt: m.now + WINDOW, cumulative };
        break;
      }
      case "accept": {
        // A whole window with claims open: after the proposal and after the end of the last pause.
        const readyAt = m.pending ? [m.pending.validAt, m.pausedUntil + WINDOW].reduce((a, b) => (a > b ? a : b)) : 0n;
        if (m.pending && m.now + 1n < readyAt) {
          expect(await send(() => f.asRelayer.write.acceptRoot())).to.equal("ChallengeWindowOpen");
          m.now = readyAt - 1n; // wait out the window, then accept
        }
        const got = await send(() => f.asRelayer.write.acceptRoot());
        expect(got).to.equal(m.pending ? "ok" : "NoPendingRoot");
        if (m.pending) {
          m.previousActive = m.active?.tree;
          m.active = { tree: m.pending.tree, epoch: m.pending.epoch, cumulative: m.pending.cumulative };
          m.pending = undefined;
        }
        break;
      }
      case "revoke": {
        const got = await send(() => f.asGuardian.write.revokeRoot([m.pending?.epoch ?? 1n, m.pending?.tree.root ?? toHex(1, { size: 32 })]));
        expect(got).to.equal(m.pending ? "ok" : "NoPendingRoot");
        m.pending = undefined;
        break;
      }
      case "claim": {
        const tree = action.stale ? m.previousActive : m.active?.tree;
        const { expected, leaf } = expectClaim(action.who, tree);
        const account = f.claimants[action.who];
        const before = await f.balanceOf(account);
        const got = await send(() => f.asRelayer.write.claim([account, leaf?.cumulative ?? 1n, leaf?.proof ?? []]));
        expect(got).to.equal(expected);
        const received = (await f.balanceOf(account)) - before;
        if (got === "ok") {
          expect(received).to.equal(leaf!.cumulative - m.claimed[action.who]);
          m.claimed[action.who] = leaf!.cumulative;
          expect(m.claimed[action.who]).to.equal(activeCumulative(action.who)); // received = latest active amount
        } else {
          expect(received).to.equal(0n);
        }
        break;
      }
      case "claimMany": {
        // An entry already paid is skipped; any other failure reverts the batch.
        const outcomes = action.who.map((i) => expectClaim(i, m.active?.tree));
        const failing = outcomes.find((o) => o.expected !== "ok" && o.expected !== "NothingToClaim");
        const accounts = action.who.map((i) => f.claimants[i]);
        const got = await send(() =>
          f.asRelayer.write.claimMany([
            accounts,
            outcomes.map((o) => o.leaf?.cumulative ?? 1n),
            outcomes.map((o) => o.leaf?.proof ?? []),
          ]),
        );
        expect(got).to.equal(failing ? failing.expected : "ok");
        if (got === "ok") action.who.forEach((i, k) => outcomes[k].expected === "ok" && (m.claimed[i] = outcomes[k].leaf!.cumulative));
        break;
      }
      case "pause": {
        const allowed = m.pausedUntil === 0n || m.now + 1n >= m.pausedUntil + MAX_PAUSE;
        const got = await send(() => f.asGuardian.write.pause());
        expect(got).to.equal(allowed ? "ok" : "PauseNotAllowed");
        if (allowed) m.pausedUntil = m.now + MAX_PAUSE;
        break;
      }
      case "wait": {
        m.now += BigInt(action.seconds);
        break;
      }
      case "withdraw": {
        const allocated = [m.active?.tree.total ?? 0n, m.pending?.tree.total ?? 0n].reduce((a, b) => (a > b ? a : b));
        const surplus = m.totalFunded - allocated;
        const amount = (surplus * BigInt(action.percentOfSurplus)) / 100n + (action.percentOfSurplus > 100 ? 1n : 0n);
        const expected = amount === 0n ? "ZeroAmount" : amount > surplus ? "SurplusExceeded" : "ok";
        expect(await send(() => f.pool.write.withdrawSurplus([f.surplusSink, amount]))).to.equal(expected);
        if (expected === "ok") m.totalFunded -= amount;
        break;
      }
    }
    await checkInvariants(f, m, paid, action);
  }
  return { f, m };
}

async function checkInvariants(f: Awaited<ReturnType<typeof deploy>>, m: Model, paid: bigint[], action: Action) {
  const where = `after ${JSON.stringify(action, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`;
  const totalFunded = await f.pool.read.totalFunded();
  expect(totalFunded, where).to.equal(m.totalFunded);
  const claimed = await Promise.all(f.claimants.map((a) => f.pool.read.claimed([a])));
  expect(claimed, where).to.deep.equal(m.claimed);
  const totalPaid = claimed.reduce((a, b) => a + b, 0n);
  expect(totalPaid <= totalFunded, `${where}: total paid ${totalPaid} > total funded ${totalFunded}`).to.equal(true);

  const [root, epoch, activeTotal] = await f.pool.read.activeRoot();
  expect(root, where).to.equal(m.active?.tree.root ?? toHex(0, { size: 32 }));
  expect(epoch, where).to.equal(m.active?.epoch ?? 0n);
  expect(activeTotal <= totalFunded, where).to.equal(true);
  const outstanding = activeTotal - totalPaid;
  const balance = await f.balanceOf(f.pool.address);
  expect(balance >= outstanding, `${where}: balance ${balance} < outstanding ${outstanding}`).to.equal(true);

  for (let i = 0; i < ACCOUNTS; i++) {
    // What each claimant received equals what the pool recorded and what the Claimed and ClaimedMany events say:
    // nothing was paid twice.
    const received = (await f.balanceOf(f.claimants[i])) - f.initialBalances[i];
    expect(paid[i], where).to.equal(claimed[i]);
    expect(received, where).to.equal(claimed[i]);
    expect(claimed[i] <= (m.active?.cumulative[i] ?? 0n), where).to.equal(true);
  }
}

for (const asset of ["erc20", "native"] as const) {
  describe(`PayoutPool properties (${asset})`, function () {
    const fixture = () => deploy(asset);

    it("random epochs, fundings, claims, revokes, pauses and withdrawals keep every invariant", async function () {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), fc.array(actionArb, { minLength: 10, maxLength: 40 }), async (withRoot, actions) => {
          // Start funded (and in half the runs with a first root) so that most runs reach claims.
          const start: Action[] = [{ kind: "fund", amount: 3000n }];
          if (withRoot) start.push({ kind: "propose", deltas: [300n, 200n, 100n, 0n] }, { kind: "accept" });
          await runScenario(asset, [...start, ...actions], fixture);
        }),
        { numRuns: 15 },
      );
    });

    it("a long honest run: everyone claims in the end and the pool holds exactly the surplus", async function () {
      // Directed scenario: many epochs with claims in between, then everyone claims.
      const actions: Action[] = [{ kind: "fund", amount: 100_000n }];
      for (let e = 0; e < 8; e++) {
        actions.push({ kind: "propose", deltas: [100n, 1n, 250n, BigInt(e) + 1n] }, { kind: "accept" });
        if (e < 7) actions.push({ kind: "claim", who: e % 3, stale: false });
      }
      actions.push({ kind: "claimMany", who: [0, 1, 2, 3] }, { kind: "withdraw", percentOfSurplus: 100 });
      const { f, m } = await runScenario(asset, actions, fixture);
      expect(m.claimed).to.deep.equal(m.active!.cumulative);
      expect(await f.balanceOf(f.pool.address)).to.equal(0n);
      expect(await f.pool.read.totalFunded()).to.equal(m.active!.tree.total);
    });
  });
}
