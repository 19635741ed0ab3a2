import { UsageError } from "./args";
import { claimCommand, CLAIM_HELP } from "./claim";
import { startCommand, START_HELP } from "./start";
import { auditCommand, AUDIT_HELP } from "./audit";
import { rebuildEpochCommand, REBUILD_HELP } from "./rebuild";

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  start: { run: startCommand, help: START_HELP },
  claim: { run: claimCommand, help: CLAIM_HELP },
  audit: { run: auditCommand, help: AUDIT_HELP },
  "rebuild-epoch": { run: rebuildEpochCommand, help: REBUILD_HELP },
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
  try {
    return await command.run(rest);
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
