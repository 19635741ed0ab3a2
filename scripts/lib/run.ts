import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { InputError, type Env } from "./env";

export type ScriptMain<T> = (hre: HardhatRuntimeEnvironment, env: Env, log?: (line: string) => void) => Promise<T>;

/**
 * Runs a script's main when the file is executed by `npx hardhat run` (not when a test imports it).
 * Bad input prints one line naming the variable; anything else prints the full error.
 */
export function runIfMain<T>(scriptModule: NodeModule, main: ScriptMain<T>): void {
  if (require.main !== scriptModule) return;
  // Loaded lazily: `hardhat run` has already set up the runtime environment for this process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hre: HardhatRuntimeEnvironment = require("hardhat");
  main(hre, process.env, (line) => console.log(line)).then(
    () => process.exit(0),
    (err) => {
      if (err instanceof InputError) console.error(`error: ${err.message}`);
      else console.error(err);
      process.exit(1);
    },
  );
}
