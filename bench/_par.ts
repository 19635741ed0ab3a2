import { auditEpoch } from "../src/epochs/audit";
import { auditEpochParallel } from "../src/audit/parallel";
import { PublishedHeaderChain } from "../src/audit/powchain";
import fs from "node:fs";
(async () => {
  const d = process.argv[2]; const mode = process.argv[3];
  const chain = PublishedHeaderChain.parse(fs.readFileSync(d + "/headers.txt", "utf8"));
  const t = performance.now(); const c0 = process.cpuUsage();
  const r = mode === "serial" ? await auditEpoch({ epochFile: d + "/epoch-000001.json", chain }) : await auditEpochParallel({ epochFile: d + "/epoch-000001.json", chain, threads: Number(mode) });
  const c = process.cpuUsage(c0);
  console.log(mode, (performance.now() - t).toFixed(0), "ms wall", ((c.user + c.system) / 1000).toFixed(0), "ms cpu", r.findings, r.shares, "rss", (process.resourceUsage().maxRSS/1024).toFixed(0));
})();
