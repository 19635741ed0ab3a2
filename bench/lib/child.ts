import type { ChildProcess } from "node:child_process";

/** Resolves with the child's first IPC message of `type`; rejects if the child exits first. */
export function once<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }) => {
      if (m.type === type) {
        child.off("message", onMsg);
        resolve(m as T);
      }
    };
    child.on("message", onMsg);
    child.once("exit", (code) => reject(new Error(`server process exited (${code})`)));
  });
}

/** Runs `serverRole` when this process was spawned with --role (the bench's server side), else `main`; exits 1 on a failure. */
export function runRole(main: () => Promise<void>, serverRole: () => Promise<void>): void {
  (process.argv.includes("--role") ? serverRole() : main()).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
