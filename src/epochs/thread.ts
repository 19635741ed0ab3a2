/**
 * Starts a worker thread running one of this project's modules. Under ts-node (how bin/pool.js,
 * the tests and the benches run) the thread registers ts-node first (transpile only, as the
 * main thread does); compiled JavaScript is loaded as is. The thread does not keep the process
 * alive (unref): its owner ends it with terminate() when done.
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";

/** `file`: the module's own __filename; it serves when it sees `workerData.mark`. */
export function startModuleWorker(file: string, workerData: { mark: string } & Record<string, unknown>): Worker {
  const project = path.join(__dirname, "..", "..", "tsconfig.json");
  // ts-node resolved here, from the project: an eval'd worker resolves bare names from the process's
  // cwd, so `pool start` run from another folder would not find it.
  const register = file.endsWith(".ts") ? `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(project)} }); ` : "";
  startThreadPool();
  const worker = new Worker(`${register}require(${JSON.stringify(file)});`, { eval: true, workerData });
  worker.unref();
  return worker;
}

/**
 * libuv starts its thread pool (async fs, dns.lookup, crypto, zlib: shared by every thread of the
 * process, workers included) on first use, from the thread that uses it first, and its threads
 * inherit that thread's nice value and scheduling policy. Used here first, from the caller's
 * thread, it never takes a lowered worker's (lowerThreadPriority): the event loop's async work
 * would then run at idle priority.
 */
function startThreadPool(): void {
  // crypto.randomFill always runs on the pool (an fs call may go through io_uring instead).
  crypto.randomFill(Buffer.alloc(1), () => undefined);
}

/**
 * Lowers the calling thread's CPU priority, on Linux only: there a nice value and a scheduling
 * policy belong to one thread (elsewhere they would apply to the whole process, so nothing is
 * done). `nice`: 0..19. At 19 the thread also takes the SCHED_IDLE policy (sched(7)), set with
 * util-linux's `chrt` on the thread's own id: a nice-19 thread still keeps its CPU until its slice
 * ends when a normal thread wakes, an idle-policy one is preempted at once (measured with a
 * 1 000 000-account build at 20 000 shares/s: the event loop spent ~450 ms a second runnable but
 * waiting behind the nice-19 build thread). Returns what was applied: "idle", "nice" (chrt
 * missing or refused) or "none". Never throws: at worst the thread keeps its priority.
 */
export function lowerThreadPriority(nice: number): "idle" | "nice" | "none" {
  // Threads this thread starts later inherit what is set here; the pool libuv shares is started
  // by startModuleWorker on the caller's thread first.
  if (nice <= 0 || process.platform !== "linux") return "none";
  try {
    os.setPriority(nice); // pid 0: the calling thread, on Linux
  } catch {
    return "none";
  }
  if (nice < 19) return "nice";
  try {
    // /proc/thread-self → "<pid>/task/<tid>", read on this thread (a sync call runs on its caller).
    const tid = fs.readlinkSync("/proc/thread-self").split("/").pop()!;
    execFileSync("chrt", ["--idle", "--pid", "0", tid], { stdio: "ignore", timeout: 5000 });
    return "idle";
  } catch {
    return "nice";
  }
}
