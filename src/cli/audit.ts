/**
 * `pool audit`: the whole audit of one epoch (src/audit/epochaudit.ts via src/epochs/audit.ts),
 * anchored to the proof-of-work chain (`--bitcoind`, or the published header chain) and to the
 * contract (RootProposed/RootRevoked and activeRoot), with the files taken from the `uri` the
 * operator put on chain (default), a local folder, or the pool's API. Exits 0 when everything
 * holds, 1 with every finding otherwise.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { connectEvm } from "../evm/clients";
import { payoutPoolAbi } from "../evm/payoutPoolAbi";
import { epochFileName, parseEpochFile, shareLogFileName } from "../epochs";
import { openChainView } from "../audit/chainsource";
import { auditEpochParallel } from "../audit/parallel";
import { liveProposal, readProposals, type Proposal } from "../audit/contract";
import { downloadEpoch } from "../audit/download";
import { HEADER_CHAIN_FILE } from "../audit/powchain";
import { AUDIT_HELP } from "./help";
import { fetchOrExplain } from "./http";
import { parseFlags, required, UsageError } from "./args";

export async function auditCommand(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const flags = parseFlags(argv, {
    epoch: { type: "string" },
    api: { type: "string" },
    dir: { type: "string" },
    rpc: { type: "string" },
    contract: { type: "string" },
    bitcoind: { type: "string" },
    "bitcoind-user": { type: "string" },
    "bitcoind-password-env": { type: "string" },
    "bitcoind-cookie": { type: "string" },
    headers: { type: "string" },
    "payout-script": { type: "string" },
    "skip-work": { type: "boolean" },
  });
  if (flags.help) {
    out(AUDIT_HELP);
    return 0;
  }
  const epochText = required(flags.epoch, "epoch");
  if (!/^\d{1,9}$/.test(epochText) || Number(epochText) < 1) throw new UsageError(`--epoch: must be a positive integer, got "${epochText}"`);
  const epoch = Number(epochText);
  if (flags.api && flags.dir) throw new UsageError("give at most one of --api URL or --dir D (default: the uri on chain)");
  const rpc = required(flags.rpc, "rpc");
  const contractText = required(flags.contract, "contract");
  if (!isAddress(contractText, { strict: false })) throw new UsageError(`--contract: not a valid address: ${contractText}`);
  const contract = getAddress(contractText);
  const payoutScript = flags["payout-script"]?.toLowerCase();
  if (payoutScript !== undefined && !/^([0-9a-f]{2})+$/.test(payoutScript)) throw new UsageError(`--payout-script: must be hex, got "${flags["payout-script"]}"`);
  const bitcoind = flags.bitcoind ? bitcoindOptions(flags) : undefined;

  // Local files are checked before anything is fetched, so that a typo in --dir is named first.
  const localFiles = flags.dir ? local(flags.dir, epoch) : undefined;
  let publicClient: Awaited<ReturnType<typeof connectEvm>>["publicClient"];
  let proposals: Awaited<ReturnType<typeof readProposals>>;
  try {
    publicClient = (await connectEvm(rpc)).publicClient;
    proposals = await readProposals(publicClient, contract);
  } catch (err) {
    throw new UsageError(`--rpc: cannot read the contract's roots from ${rpc} (${(err as Error).message.split("\n")[0]})`);
  }
  const findings: string[] = [];
  const files = localFiles ?? (flags.api ? await fromApi(flags.api, epoch) : await fromChain(proposals, epoch, findings));

  let pow: string | undefined;
  try {
    pow = files.epochFile ? parseEpochFile(fs.readFileSync(files.epochFile)).chain.pow : undefined;
  } catch {
    pow = undefined;
  }
  const source = await openChainView({ bitcoind, headers: flags.headers, publishedHeaders: files.headers, pow });
  if (source.problem) findings.push(source.problem);

  let lastShown = 0;
  try {
    if (!files.epochFile) {
      out(`AUDIT FAILED: epoch ${epoch}'s file could not be obtained`);
      for (const f of findings) out(`  - ${f}`);
      return 1;
    }
    const report = await auditEpochParallel({
      epochFile: files.epochFile,
      shareLog: files.shareLog,
      previousEpochFile: files.previousEpochFile,
      previousShareLog: files.previousShareLog,
      checkWork: !flags["skip-work"],
      chain: source.chain,
      payoutScript,
      contract: async (n) => liveProposal(proposals, n),
      contractAddress: contract,
      progressEvery: 5000,
      onProgress: (done, total) => {
        if (done - lastShown >= 5000 || done === total) {
          lastShown = done;
          process.stderr.write(`  checked ${done}/${total} shares\r`);
        }
      },
    });
    process.stderr.write("\n");
    findings.push(...report.findings);
    if (report.epoch !== epoch) findings.push(`file: the epoch file is for epoch ${report.epoch}, not ${epoch}`);
    const active = await publicClient.readContract({ address: contract, abi: payoutPoolAbi, functionName: "activeRoot" });
    if (Number(active[1]) === epoch && active[0].toLowerCase() !== report.root.toLowerCase()) findings.push(`contract: the active root ${active[0]} differs from the rebuilt ${report.root}`);

    out(`epoch ${epoch}: ${report.shares} shares, ${report.leaves} leaves, root ${report.root}, total ${report.totalCumulative}; chain: ${report.anchors.chain ?? "not read"}`);
    if (findings.length === 0) {
      out("AUDIT PASSED: the published files, every share against the chain, the allocation, the tree and the contract's roots agree");
      return 0;
    }
    out(`AUDIT FAILED: ${findings.length} finding(s)`);
    for (const f of findings) out(`  - ${f}`);
    return 1;
  } finally {
    source.close();
  }
}

function bitcoindOptions(flags: Record<string, string | boolean | undefined>) {
  const passwordEnv = flags["bitcoind-password-env"] as string | undefined;
  const password = passwordEnv ? process.env[passwordEnv] : undefined;
  if (passwordEnv && password === undefined) throw new UsageError(`--bitcoind-password-env: the variable ${passwordEnv} is not set`);
  return { url: flags.bitcoind as string, user: flags["bitcoind-user"] as string | undefined, password, cookieFile: flags["bitcoind-cookie"] as string | undefined };
}

interface Files {
  epochFile?: string;
  shareLog?: string;
  previousEpochFile?: string;
  previousShareLog?: string;
  headers?: string;
}

function local(dir: string, epoch: number): Files {
  const epochFile = path.join(dir, epochFileName(epoch));
  if (!fs.existsSync(epochFile)) throw new UsageError(`--dir: ${epochFile} does not exist`);
  const headers = path.join(dir, HEADER_CHAIN_FILE);
  return {
    epochFile,
    shareLog: path.join(dir, shareLogFileName(epoch)),
    previousEpochFile: epoch > 1 ? path.join(dir, epochFileName(epoch - 1)) : undefined,
    previousShareLog: epoch > 1 ? path.join(dir, shareLogFileName(epoch - 1)) : undefined,
    headers: fs.existsSync(headers) ? fs.readFileSync(headers, "utf8") : undefined,
  };
}

/** The files at the uris the contract's live proposals for epochs N and N-1 name. */
async function fromChain(proposals: Map<number, Proposal[]>, epoch: number, findings: string[]): Promise<Files> {
  const cur = liveProposal(proposals, epoch);
  if (!cur) throw new UsageError(`the contract has no live root for epoch ${epoch} (so no uri to fetch it from): use --dir or --api`);
  const prev = epoch > 1 ? liveProposal(proposals, epoch - 1) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pool-audit-${epoch}-`));
  const d = await downloadEpoch(dir, epoch, cur.uri, prev?.uri);
  findings.push(...d.problems);
  return d;
}

async function fromApi(api: string, epoch: number): Promise<Files> {
  const base = api.replace(/\/+$/, "");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pool-audit-${epoch}-`));
  const get = async (url: string, file: string) => {
    const res = await fetchOrExplain(url);
    if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };
  const epochFile = await get(`${base}/api/epochs/${epoch}`, path.join(dir, epochFileName(epoch)));
  const shareLog = await get(`${base}/api/epochs/${epoch}/shares`, path.join(dir, shareLogFileName(epoch)));
  const previousEpochFile = epoch > 1 ? await get(`${base}/api/epochs/${epoch - 1}`, path.join(dir, epochFileName(epoch - 1))) : undefined;
  const previousShareLog = epoch > 1 ? await get(`${base}/api/epochs/${epoch - 1}/shares`, path.join(dir, shareLogFileName(epoch - 1))) : undefined;
  let headers: string | undefined;
  const res = await fetchOrExplain(`${base}/api/chain/headers`);
  if (res.ok) headers = await res.text();
  return { epochFile, shareLog, previousEpochFile, previousShareLog, headers };
}
