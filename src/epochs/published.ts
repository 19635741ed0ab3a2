/**
 * Epoch files and share logs kept in the store as well as on disk (issue 15: several processes of
 * one pool on one PostgreSQL, one committer elected among candidates on any machine). The leader
 * puts each epoch's two files in the store before it records the epoch, so that an epoch the store
 * knows always has its files there; a process that needs a file its disk lacks (the API serving an
 * epoch another process built, a new leader continuing from the last epoch) restores it into its
 * own epoch folder. With a SQLite store (one process) nothing changes: the files are on its disk.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ShareStore } from "../shares/types";

/** Puts the files at `paths` in the store under their base names (no-op for a store without published files). */
export async function publishEpochFiles(store: ShareStore, paths: readonly string[]): Promise<void> {
  if (!store.files) return;
  for (const p of paths) await store.files.put(path.basename(p), p);
}

/**
 * A local path of the epoch file (or share log) an epoch record names, with the bytes the store
 * holds under that name: the recorded path when its size and SHA-256 are the store's (a file of
 * that name left by an older build — a revoked epoch rebuilt elsewhere — is not), else a copy
 * restored from the store into `dir/.store/<sha256 prefix>/`. Without published files in the
 * store (SQLite: one process) or without the name there, the recorded path as it is (the caller's
 * read then fails, naming it). Each local file is hashed once per size and modification time.
 */
export async function localEpochFile(store: ShareStore, recorded: string, dir: string | undefined): Promise<string> {
  if (!store.files || !dir) return recorded;
  const name = path.basename(recorded);
  const stored = await store.files.info(name);
  if (!stored) return recorded;
  if (await sameBytes(recorded, stored)) return recorded;
  const local = path.join(dir, ".store", stored.sha256.slice(0, 16), name);
  if (await sameBytes(local, stored)) return local;
  fs.mkdirSync(path.dirname(local), { recursive: true });
  return (await store.files.restore(name, local)) ? local : recorded;
}

const verified = new Map<string, string>();

/** Whether the file at `file` has `stored`'s size and SHA-256 (hashed once per path, size and mtime). */
async function sameBytes(file: string, stored: { size: number; sha256: string }): Promise<boolean> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return false;
  }
  if (st.size !== stored.size) return false;
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let digest = verified.get(key);
  if (digest === undefined) {
    const hash = crypto.createHash("sha256");
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
    digest = hash.digest("hex");
    if (verified.size > 1000) verified.clear();
    verified.set(key, digest);
  }
  return digest === stored.sha256;
}
