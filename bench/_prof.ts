import { auditEpoch } from "../src/epochs/audit";
import { PublishedHeaderChain } from "../src/audit/powchain";
import fs from "node:fs";
(async () => {
  const d = process.argv[2];
  const chain = PublishedHeaderChain.parse(fs.readFileSync(d + "/headers.txt", "utf8"));
  const t = performance.now(); const c0 = process.cpuUsage();
  const r = await auditEpoch({ epochFile: d + "/epoch-000001.json", chain });
  const c = process.cpuUsage(c0);
  console.log((performance.now() - t).toFixed(0), "ms wall", ((c.user + c.system) / 1000).toFixed(0), "ms cpu", r.findings, r.shares);
})();
