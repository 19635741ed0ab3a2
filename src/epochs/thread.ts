/**
 * Starts a worker thread running one of this project's modules. Under ts-node (how bin/pool.js,
 * the tests and the benches run) the thread registers ts-node first (transpile only, as the
 * main thread does); compiled JavaScript is loaded as is. The thread does not keep the process
 * alive (unref): its owner ends it with terminate() when done.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";

/** `file`: the module's own __filename; it serves when it sees `workerData.mark`. */
export function startModuleWorker(file: string, workerData: { mark: string } & Record<string, unknown>): Worker {
  const project = path.join(__dirname, "..", "..", "tsconfig.json");
  // ts-node resolved here, from the project: an eval'd worker resolves bare names from the process's
  // cwd, so `pool start` run from another folder would not find it.
  const register = file.endsWith(".ts") ? `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(project)} }); ` : "";
  const worker = new Worker(`${register}require(${JSON.stringify(file)});`, { eval: true, workerData });
  worker.unref();
  return worker;
}
