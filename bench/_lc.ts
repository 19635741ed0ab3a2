import fs from "node:fs";
import { LineChecker } from "../src/audit/linecheck";
import { ChainAnchor } from "../src/audit/chaincheck";
import { PublishedHeaderChain } from "../src/audit/powchain";
(async () => {
  const d = "/tmp/bench-audit-small-200000";
  const chain = PublishedHeaderChain.parse(fs.readFileSync(d + "/headers.txt", "utf8"));
  const lines = fs.readFileSync(d + "/shares-000001.jsonl", "utf8").split("\n").slice(1, 100001);
  const anchor = new ChainAnchor({ chain, payoutScript: "0014" + "5a".repeat(20) });
  const lc = new LineChecker({ checkWork: true, anchor, blockHashes: new Set() });
  for (let r = 0; r < 2; r++) {
    const t = performance.now(); const c0 = process.cpuUsage();
    for (let i = 0; i < lines.length; i++) await lc.check(lines[i], i + 2);
    const c = process.cpuUsage(c0);
    console.log("per line us wall", ((performance.now() - t) / lines.length * 1000).toFixed(1), "cpu", ((c.user + c.system) / lines.length).toFixed(1));
  }
})();
