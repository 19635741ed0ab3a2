/**
 * A worker module for test/epochs.worker.test.ts: lowers its own thread's priority
 * (lowerThreadPriority, at 19), then makes an async fs call (libuv's thread pool) and says what
 * was applied. Loaded on the main thread (as every file in test/ is by `hardhat test`), it does nothing.
 */
import fs from "node:fs";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "../src/epochs/thread";

export const PRIORITY_FIXTURE_MARK = "thread-priority-fixture";

if (!isMainThread && parentPort && workerData?.mark === PRIORITY_FIXTURE_MARK) {
  const applied = lowerThreadPriority(19);
  fs.stat(__filename, () => parentPort!.postMessage({ applied }));
}
