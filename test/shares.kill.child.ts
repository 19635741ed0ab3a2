/**
 * Child process of shares.kill.test.ts: writes shares (and now and then a found block) through the
 * SQLite store as fast as it can, and prints "s <hash>" / "b <hash>" for each one only after the
 * store acknowledged it (record()/recordBlock() resolved). The parent SIGKILLs it at random.
 * Usage: ts-node --transpile-only test/shares.kill.child.ts <dataDir> <run>
 */
import { openShareStore } from "../src/shares";
import type { AcceptedShare } from "../src/stratum/events";

async function main(dataDir: string, run: number): Promise<void> {
  // Started ahead of time by the parent (ts-node start-up is slow); begins on "go".
  process.stdout.write("loaded\n");
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
  // Every other run writes on the writer thread (issue 15): both paths are killed at random.
  const store = await openShareStore({ kind: "sqlite", dataDir, writerThread: run % 4 >= 2 });
  process.stdout.write("ready\n");
  const prefix = run.toString(16).padStart(8, "0");
  let n = 0;
  const share = (isBlock: boolean): AcceptedShare => {
    const i = n++;
    const miner = i % 5;
    const address = "0x" + (miner + 1).toString(16).padStart(40, "0");
    return {
      address,
      worker: "w" + miner,
      difficulty: "0.02",
      jobId: `${run}-${i >> 6}`,
      height: 1000 + run,
      prevhash: "cd".repeat(32),
      coinb1: "0100000001" + "00".repeat(32) + "ffffffff20" + address.slice(2),
      coinb2: "ffffffff0100f2052a010000000151" + "00000000",
      extranonce1: "0000000" + miner,
      extranonce2: i.toString(16).padStart(8, "0"),
      merkleBranch: ["ee".repeat(32)],
      version: "20000000",
      nbits: "207fffff",
      ntime: "66000000",
      nonce: (i >>> 0).toString(16).padStart(8, "0"),
      hash: prefix + i.toString(16).padStart(56, "0"),
      isBlock,
      time: Date.now(),
    };
  };
  const inflight = new Set<Promise<void>>();
  for (;;) {
    while (inflight.size < 2000) {
      const isBlock = n % 997 === 0;
      const s = share(isBlock);
      const p: Promise<void> = (isBlock
        ? Promise.all([store.record(s), store.recordBlock({ height: s.height, hash: s.hash, reward: "5000000000", address: s.address, worker: s.worker, submitted: true, time: s.time }, s)]).then(() => {
            process.stdout.write(`s ${s.hash}\nb ${s.hash}\n`);
          })
        : store.record(s).then(() => {
            process.stdout.write(`s ${s.hash}\n`);
          })
      ).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.race(inflight);
  }
}

if (require.main === module) {
  main(process.argv[2], Number(process.argv[3])).catch((err) => {
    process.stderr.write(`kill child: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
