/** fetch, with a network failure turned into an error that names the URL the command could not reach. */
export async function fetchOrExplain(url: string): Promise<Response> {
  try {
    return await fetch(url);
  } catch (e) {
    throw new Error(`cannot reach ${url}: ${(e as Error).cause ?? (e as Error).message}`);
  }
}
