import pg from "pg";

/** The first user that can connect to database `test` on 127.0.0.1:5432, or why none could. */
export async function findPostgresUser(): Promise<{ user: string } | { reason: string }> {
  const reasons: string[] = [];
  for (const user of [...new Set([process.env.PGUSER, "postgres", "root"].filter((u): u is string => !!u))]) {
    const client = new pg.Client({ host: "127.0.0.1", port: 5432, database: "test", user, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return { user };
    } catch (err) {
      reasons.push(`${user}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { reason: reasons.join("; ") };
}
