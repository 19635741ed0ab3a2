import { generateAuditEpoch } from "../bench/lib/audit-epoch";
import { auditEpoch } from "../src/epochs/audit";
import { PublishedHeaderChain } from "../src/audit/powchain";
import fs from "node:fs";
(async () => {
  const n = Number(process.argv[2] ?? 10000);
  const g = await generateAuditEpoch({ accounts: n / 10, shares: n, dir: `/tmp/bench-audit-small-${n}`, contract: "0x" + "c0".repeat(20), log: console.log });
  console.log(g);
  const chain = PublishedHeaderChain.parse(fs.readFileSync(g.headersFile, "utf8"));
  const t = performance.now();
  const r = await auditEpoch({ epochFile: g.epochFile, chain });
  console.log((performance.now() - t).toFixed(0), "ms", r.findings, r.shares);
})();
