/**
 * compareAllocations (src/epochs/verify.ts) as it was first written, with a set of every listed
 * account: the plain reference the tests compare the faster comparisons with.
 */
export function referenceCompareAllocations(accounts: string[], delta: bigint[], allocations: Map<string, bigint>): string[] {
  const findings: string[] = [];
  const listed = new Set<string>(accounts);
  let differing = 0;
  for (let i = 0; i < accounts.length; i++) {
    const expected = allocations.get(accounts[i]) ?? 0n;
    if (delta[i] !== expected) {
      differing++;
      if (differing === 1) findings.push(`first differing leaf: leaf ${i} (${accounts[i]}) has delta ${delta[i]}, the share log gives ${expected}`);
    }
  }
  if (differing > 1) findings.push(`${differing} leaves differ in all`);
  for (const [a, v] of allocations) {
    if (v > 0n && !listed.has(a)) {
      findings.push(`account ${a} is allocated ${v} by the share log but has no leaf`);
      break;
    }
  }
  return findings;
}
