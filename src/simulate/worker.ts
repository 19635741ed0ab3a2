/**
 * Runs `simulate` on a worker thread, so that a long simulation never blocks the caller's event
 * loop (the CLI, the pool's API). The worker loads this same file through ts-node.
 */
import path from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { SchemeModel } from "./model";
import { simulate, type SimulationOptions, type SimulationResult } from "./montecarlo";

/** Resolves with the simulation's result, computed on a worker thread; rejects with its error. */
export function simulateInWorker(model: SchemeModel, opts: SimulationOptions): Promise<SimulationResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(`require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(path.join(__dirname, "..", "..", "tsconfig.json"))} }); require(${JSON.stringify(__filename)});`, {
      eval: true,
      workerData: { model, opts },
    });
    worker.once("message", (m: { ok: true; result: SimulationResult } | { ok: false; error: string }) => {
      if (m.ok) resolve(m.result);
      else reject(new RangeError(m.error));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`simulation worker exited with code ${code}`));
    });
  });
}

if (!isMainThread && parentPort && workerData?.model) {
  try {
    parentPort.postMessage({ ok: true, result: simulate(workerData.model, workerData.opts) });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: (err as Error).message });
  }
}
