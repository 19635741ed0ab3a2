/**
 * For test/epochs.worker.test.ts: each thread's priority read from /proc, and a worker module that
 * lowers its own thread's priority (lowerThreadPriority, at 19), then makes an async crypto call
 * (libuv's thread pool) and says what was applied. Loaded on the main thread (as every file in
 * test/ is by `hardhat test`), it only exports.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "../src/epochs/thread";

export const PRIORITY_FIXTURE_MARK = "thread-priority-fixture";
export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;

/** Every thread of this process: its nice value and scheduling policy (proc(5): stat fields 19 and 41). */
export function threadPriorities(): { tid: string; nice: number; policy: number }[] {
  const out: { tid: string; nice: number; policy: number }[] = [];
  for (const tid of fs.readdirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    out.push({ tid, nice: Number(fields[16]), policy: Number(fields[38]) });
  }
  return out;
}

export function chrtOnPath(): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && fs.existsSync(path.join(dir, "chrt")));
}

if (!isMainThread && parentPort && workerData?.mark === PRIORITY_FIXTURE_MARK) {
  const applied = lowerThreadPriority(19);
  // crypto.randomFill always runs on libuv's pool (an fs call may go through io_uring instead).
  crypto.randomFill(Buffer.alloc(1), () => parentPort!.postMessage({ applied }));
}
