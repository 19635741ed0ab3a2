// scratch: per-pc gas of claimMany (deleted after use)
import hre from "hardhat";
import { keccak256, toHex, zeroAddress, type Address } from "viem";
import { PayoutTree } from "../../src/merkle";
async function main() {
  const N = 2 ** 16, B = 20;
  const allocs = [...Array(N).keys()].map((i) => ({ account: keccak256(toHex(`a${i}`)).slice(0, 42) as Address, cumulative: 10n ** 15n + BigInt(i) }));
  const tree = new PayoutTree(allocs);
  const [admin, relayer] = await hre.viem.getWalletClients();
  const a = admin.account.address;
  const asset = process.env.ASSET ?? "erc20";
  const token = asset === "erc20" ? await hre.viem.deployContract("MockERC20", ["R", "R"]) : undefined;
  const pool = await hre.viem.deployContract("PayoutPool", [token?.address ?? zeroAddress, a, a, a, 0n, 86400n]);
  const accts = [...Array(B).keys()].map((k) => tree.allocations[k * 1000 + 1].account);
  if (token) { await token.write.mint([a, tree.total]); await token.write.approve([pool.address, tree.total]); await pool.write.fund([tree.total]); for (const r of accts) await token.write.mint([r, 1n]); }
  else { await pool.write.fund([tree.total], { value: tree.total }); }
  await pool.write.proposeRoot([1n, tree.root, tree.total, tree.root, "x"]);
  await pool.write.acceptRoot();
  const ls = accts.map((x) => tree.proofFor(x)!);
  const hash = await pool.write.claimMany([ls.map((l) => l.account), ls.map((l) => l.cumulative), ls.map((l) => l.proof)]);
  const pc = await hre.viem.getPublicClient();
  const rc = await pc.getTransactionReceipt({ hash });
  const trace: any = await hre.network.provider.request({ method: "debug_traceTransaction", params: [hash, { disableMemory: true, disableStorage: true, disableStack: true }] });
  const per = new Map<number, { op: string; gas: number; n: number }>();
  for (const s of trace.structLogs) { if (s.depth !== 1) continue; const e = per.get(s.pc) ?? { op: s.op, gas: 0, n: 0 }; e.n++; if (!["CALL", "STATICCALL"].includes(s.op)) e.gas += s.gasCost; per.set(s.pc, e); }
  console.log("gasUsed/acct", Number(rc.gasUsed) / B, "depth", ls[0].proof.length);
  const pcs = [...per.keys()].sort((x, y) => x - y);
  let seg = -1, segGas = 0, segOps: string[] = [], segN = 0, prevN = -1;
  const flush = () => { if (seg >= 0) console.log(`pc ${seg} n=${segN} gas/acct=${(segGas / B).toFixed(1)} ${segOps.join(" ")}`); };
  let total = 0;
  for (const p of pcs) { const e = per.get(p)!; total += e.gas; if (e.n !== prevN) { flush(); seg = p; segGas = 0; segOps = []; segN = e.n; prevN = e.n; } segGas += e.gas; segOps.push(e.op); }
  flush();
  console.log("depth1 opcode gas/acct (excl CALL)", total / B);
}
main().catch((e) => { console.error(e); process.exit(1); });
