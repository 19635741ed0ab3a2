/**
 * A worker module for test/epochs.worker.test.ts: lowers its own thread's priority
 * (lowerThreadPriority, at 19), then makes an async crypto call (libuv's thread pool) and says what
 * was applied. Loaded on the main thread (as every file in test/ is by `hardhat test`), it does nothing.
 */
import crypto from "node:crypto";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "../src/epochs/thread";

export const PRIORITY_FIXTURE_MARK = "thread-priority-fixture";

if (!isMainThread && parentPort && workerData?.mark === PRIORITY_FIXTURE_MARK) {
  const applied = lowerThreadPriority(19);
  // crypto.randomFill always runs on libuv's pool (an fs call may go through io_uring instead).
  crypto.randomFill(Buffer.alloc(1), () => parentPort!.postMessage({ applied }));
}
