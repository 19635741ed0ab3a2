import { expect } from "chai";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openShareStore } from "../src/shares";

const KILLS = 20;

interface Writer {
  child: ChildProcessWithoutNullStreams;
  out: string;
  err: string;
  loaded: Promise<void>;
  exited: Promise<string | null>;
}

/** Spawns the writer (ts-node --transpile-only); it waits for "go" once loaded. */
function spawnWriter(dataDir: string, run: number): Writer {
  const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(__dirname, "shares.kill.child.ts"), dataDir, String(run)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const w = { child, out: "", err: "" } as Writer;
  child.stdout.on("data", (d: Buffer) => (w.out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (w.err += d.toString()));
  w.loaded = new Promise((resolve, reject) => {
    child.stdout.on("data", () => w.out.startsWith("loaded\n") && resolve());
    child.on("exit", () => reject(new Error(`writer ${run} exited before loading: ${w.err}`)));
  });
  w.exited = new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  return w;
}

/** Lets the writer go, SIGKILLs it `delayMs` after `from` ("ready" or its first ack); returns its acks. */
async function runAndKill(w: Writer, from: "ready\n" | "s ", delayMs: number): Promise<{ shares: string[]; blocks: string[] }> {
  await w.loaded;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer === undefined && w.out.includes(from)) timer = setTimeout(() => w.child.kill("SIGKILL"), delayMs);
  };
  w.child.stdout.on("data", arm);
  w.child.stdin.write("go\n");
  const signal = await w.exited;
  clearTimeout(timer);
  if (signal !== "SIGKILL") throw new Error(`writer exited by itself: ${w.err}`);
  const lines = w.out.split("\n");
  lines.pop(); // a line cut by the kill is not an ack
  return { shares: lines.filter((l) => l.startsWith("s ")).map((l) => l.slice(2)), blocks: lines.filter((l) => l.startsWith("b ")).map((l) => l.slice(2)) };
}

describe("shares: SIGKILL durability (SQLite, group commit, synchronous=FULL)", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "shares-kill-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`loses no acknowledged share or block over ${KILLS} kills at random moments`, async function () {
    let lastId = 0;
    let acked = 0;
    let ackedBlocks = 0;
    let stored = 0;
    let roundsWithAcks = 0;
    let next = spawnWriter(dir, 1);
    for (let run = 1; run <= KILLS; run++) {
      const writer = next;
      if (run < KILLS) next = spawnWriter(dir, run + 1); // loads while this one runs
      // Odd runs: killed 0-300 ms after opening the store (also during start-up and migrations);
      // even runs: 20-600 ms into full-speed writing.
      const { shares, blocks } = run % 2 === 1 ? await runAndKill(writer, "ready\n", Math.floor(Math.random() * 300)) : await runAndKill(writer, "s ", 20 + Math.floor(Math.random() * 580));
      const store = await openShareStore({ kind: "sqlite", dataDir: dir });
      try {
        const present = new Set<string>();
        for await (const s of store.sharesInRange(lastId + 1, Number.MAX_SAFE_INTEGER)) {
          present.add(s.hash);
          lastId = s.id;
        }
        const missing = shares.filter((h) => !present.has(h));
        expect(missing, `run ${run}: acknowledged shares missing after SIGKILL`).to.deep.equal([]);
        for (const h of blocks) {
          const b = await store.block(h);
          expect(b, `run ${run}: acknowledged block ${h} missing`).to.not.equal(undefined);
          expect(present.has(h), `run ${run}: the share of block ${h} missing`).to.equal(true);
        }
        acked += shares.length;
        ackedBlocks += blocks.length;
        stored += present.size;
        if (shares.length > 0) roundsWithAcks++;
      } finally {
        await store.close();
      }
    }
    console.log(
      `      ${KILLS} kills: ${acked} acknowledged shares and ${ackedBlocks} acknowledged blocks, all present after reopening; ` +
        `${stored} shares stored (${stored - acked} committed but killed before their ack was printed); ${roundsWithAcks} runs had acks`,
    );
    expect(roundsWithAcks).to.be.at.least(KILLS / 2);
    expect(acked).to.be.greaterThan(1000);
    expect(ackedBlocks).to.be.greaterThan(0);
  });
});
