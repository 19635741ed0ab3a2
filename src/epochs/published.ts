/**
 * Epoch files and share logs kept in the store as well as on disk (issue 15: several processes of
 * one pool on one PostgreSQL, one committer elected among candidates on any machine). The leader
 * puts each epoch's two files in the store before it records the epoch, so that an epoch the store
 * knows always has its files there; a process that needs a file its disk lacks (the API serving an
 * epoch another process built, a new leader continuing from the last epoch) restores it into its
 * own epoch folder. With a SQLite store (one process) nothing changes: the files are on its disk.
 */
import fs from "node:fs";
import path from "node:path";
import type { ShareStore } from "../shares/types";

/** Puts the files at `paths` in the store under their base names (no-op for a store without published files). */
export async function publishEpochFiles(store: ShareStore, paths: readonly string[]): Promise<void> {
  if (!store.files) return;
  for (const p of paths) await store.files.put(path.basename(p), p);
}

/**
 * A local path of the epoch file (or share log) an epoch record names: the recorded path when it
 * exists here, else the file of that name in `dir` (this process's epoch folder), restored from the
 * store when missing. The recorded path when none of these has it (the caller's read then fails,
 * naming it).
 */
export async function localEpochFile(store: ShareStore, recorded: string, dir: string | undefined): Promise<string> {
  if (fs.existsSync(recorded) || !dir) return recorded;
  const local = path.join(dir, path.basename(recorded));
  if (fs.existsSync(local)) return local;
  if (!store.files) return recorded;
  fs.mkdirSync(dir, { recursive: true });
  return (await store.files.restore(path.basename(recorded), local)) ? local : recorded;
}
