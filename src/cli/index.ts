import { UsageError } from "./args";
import { AUDIT_HELP, CLAIM_HELP, REBUILD_HELP, SIMULATE_HELP, START_HELP, WATCH_HELP } from "./help";

type Run = (argv: string[]) => Promise<number>;

// Commands load on demand: the pool, viem and Hardhat are heavy, and `--help` needs none of them.
const COMMANDS: Record<string, { run: () => Run; help: string }> = {
  start: { run: () => require("./start").startCommand, help: START_HELP },
  claim: { run: () => require("./claim").claimCommand, help: CLAIM_HELP },
  audit: { run: () => require("./audit").auditCommand, help: AUDIT_HELP },
  watch: { run: () => require("./watch").watchCommand, help: WATCH_HELP },
  "rebuild-epoch": { run: () => require("./rebuild").rebuildEpochCommand, help: REBUILD_HELP },
  simulate: { run: () => require("./simulate").simulateCommand, help: SIMULATE_HELP },
};

const USAGE = `usage: pool <command> [flags]   (pool <command> --help for its flags)

commands:
${Object.values(COMMANDS).map((c) => "  " + c.help.split("\n")[0]).join("\n")}`;

/** Runs one subcommand; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run()(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`pool ${name}: ${err.message}\n\n${command.help}`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(`error: ${err?.message ?? err}`);
      process.exitCode = 1;
    },
  );
}
