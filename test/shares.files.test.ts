/**
 * Published files kept in the PostgreSQL store (issue 15: every process of a pool serves an epoch's
 * files, a committer on another machine continues from them): put, replace, restore byte for
 * byte across chunks, and a damaged or missing chunk refused, never written out. Skipped, saying
 * why, without PostgreSQL.
 */
import { expect } from "chai";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { openShareStore } from "../src/shares";
import { PUBLISHED_CHUNK_BYTES } from "../src/shares/postgres";
import { localEpochFile, publishEpochFiles } from "../src/epochs/published";
import type { ShareStore } from "../src/shares/types";
import { findPostgresUser } from "./pg.helpers";

describe("published epoch files in the PostgreSQL store", function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "published-files-"));
  const schema = `files_test_${process.pid}_${Date.now() % 1_000_000}`;
  let conn: { host: string; port: number; database: string; user: string } | undefined;
  let store: ShareStore | undefined;

  before(async function () {
    const found = await findPostgresUser();
    if ("reason" in found) {
      console.log(`      skipping: no PostgreSQL: ${found.reason}`);
      this.skip();
    }
    conn = { host: "127.0.0.1", port: 5432, database: "test", user: (found as { user: string }).user };
    store = await openShareStore({ kind: "postgres", ...conn, schema });
  });
  after(async () => {
    await store?.close();
    if (conn) {
      const c = new pg.Client(conn);
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sql = async (text: string, params: unknown[] = []) => {
    const c = new pg.Client(conn!);
    await c.connect();
    try {
      await c.query(`SET search_path = ${schema}`);
      return (await c.query(text, params)).rows;
    } finally {
      await c.end();
    }
  };

  it("restores byte for byte a file of several chunks, an empty one and one of exactly one chunk; a put replaces", async () => {
    const files = store!.files!;
    const cases: Array<[string, Buffer]> = [
      ["epoch-000001.shares.jsonl", crypto.randomBytes(2 * PUBLISHED_CHUNK_BYTES + 12_345)],
      ["epoch-000002.json", Buffer.alloc(0)],
      ["epoch-000003.json", crypto.randomBytes(PUBLISHED_CHUNK_BYTES)],
    ];
    for (const [name, bytes] of cases) {
      fs.writeFileSync(path.join(dir, name), bytes);
      await files.put(name, path.join(dir, name));
      expect(await files.info(name)).to.deep.equal({ size: bytes.length, sha256: crypto.createHash("sha256").update(bytes).digest("hex") });
      const out = path.join(dir, `restored-${name}`);
      expect(await files.restore(name, out)).to.equal(true);
      expect(fs.readFileSync(out).equals(bytes), name).to.equal(true);
    }
    expect((await sql(`SELECT chunks FROM published_files WHERE name = $1`, [cases[0][0]]))[0].chunks).to.equal(3);
    // Replaced under the same name (a rebuilt epoch): the new bytes, no chunk of the old left.
    const newer = crypto.randomBytes(100);
    fs.writeFileSync(path.join(dir, cases[0][0]), newer);
    await files.put(cases[0][0], path.join(dir, cases[0][0]));
    expect((await sql(`SELECT count(*)::int AS n FROM published_file_chunks WHERE name = $1`, [cases[0][0]]))[0].n).to.equal(1);
    expect(await files.restore(cases[0][0], path.join(dir, "again"))).to.equal(true);
    expect(fs.readFileSync(path.join(dir, "again")).equals(newer)).to.equal(true);
    expect(await files.info("epoch-000009.json")).to.equal(undefined);
    expect(await files.restore("epoch-000009.json", path.join(dir, "none"))).to.equal(false);
    expect(fs.existsSync(path.join(dir, "none"))).to.equal(false);
  });

  it("a damaged or missing chunk is refused by name and nothing is written", async () => {
    const files = store!.files!;
    const name = "epoch-000004.shares.jsonl";
    fs.writeFileSync(path.join(dir, name), crypto.randomBytes(PUBLISHED_CHUNK_BYTES + 10));
    await files.put(name, path.join(dir, name));
    await sql(`UPDATE published_file_chunks SET bytes = overlay(bytes placing '\\x00'::bytea from 5 for 1) WHERE name = $1 AND seq = 1`, [name]);
    const out = path.join(dir, "damaged");
    let err: unknown;
    await files.restore(name, out).catch((e) => (err = e));
    expect(String(err)).to.match(new RegExp(`published file ${name}: read back .* SHA-256`));
    expect(fs.existsSync(out)).to.equal(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes("restoring"))).to.deep.equal([]);
    await sql(`DELETE FROM published_file_chunks WHERE name = $1 AND seq = 0`, [name]);
    err = undefined;
    await files.restore(name, out).catch((e) => (err = e));
    expect(String(err)).to.contain(`published file ${name}: chunk 0 of 2 is missing`);
    expect(fs.existsSync(out)).to.equal(false);
  });

  it("localEpochFile: the recorded path when it holds the store's bytes, else a verified copy from the store (a stale file of that name is not used)", async () => {
    const elsewhere = path.join(dir, "other-machine", "epochs");
    fs.mkdirSync(elsewhere, { recursive: true });
    const recorded = path.join(elsewhere, "epoch-000005.json");
    fs.writeFileSync(recorded, '{"epoch":5}\n');
    await publishEpochFiles(store!, [recorded]);
    const mine = path.join(dir, "this-machine", "epochs");
    expect(await localEpochFile(store!, recorded, mine)).to.equal(recorded);
    fs.rmSync(path.join(dir, "other-machine"), { recursive: true });
    const got = await localEpochFile(store!, recorded, mine);
    expect(path.dirname(path.dirname(got))).to.equal(path.join(mine, ".store"));
    expect(fs.readFileSync(got, "utf8")).to.equal('{"epoch":5}\n');
    expect(await localEpochFile(store!, recorded, mine), "restored once").to.equal(got);
    // Revoked and rebuilt elsewhere under the same name: the old bytes at the recorded path are not served.
    fs.mkdirSync(elsewhere, { recursive: true });
    fs.writeFileSync(recorded, '{"epoch":5,"revoked":true}\n');
    const rebuilt = path.join(dir, "rebuilt", "epoch-000005.json");
    fs.mkdirSync(path.dirname(rebuilt), { recursive: true });
    fs.writeFileSync(rebuilt, '{"epoch":5,"rebuilt":1}\n');
    await publishEpochFiles(store!, [rebuilt]);
    const now = await localEpochFile(store!, recorded, mine);
    expect(now).to.not.equal(recorded);
    expect(fs.readFileSync(now, "utf8")).to.equal('{"epoch":5,"rebuilt":1}\n');
    // Two restores of one file at once: each complete (no shared temporary file).
    fs.rmSync(path.join(mine, ".store"), { recursive: true });
    const both = await Promise.all([localEpochFile(store!, recorded, mine), localEpochFile(store!, recorded, mine)]);
    for (const f of both) expect(fs.readFileSync(f, "utf8")).to.equal('{"epoch":5,"rebuilt":1}\n');
    // Not in the store: the recorded path, whose read then fails naming it.
    expect(await localEpochFile(store!, path.join(elsewhere, "epoch-000006.json"), mine)).to.equal(path.join(elsewhere, "epoch-000006.json"));
  });
});
