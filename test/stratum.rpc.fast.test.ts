import { expect } from "chai";
import fc from "fast-check";
import { parseRequest, parseRequestFast } from "../src/stratum/rpc";

/** Where the fast reader answers, it answers what JSON.parse-based parseRequest does. */
function agrees(line: string): boolean {
  const fast = parseRequestFast(line);
  if (fast === undefined) return false;
  expect(fast, line).to.deep.equal(parseRequest(line));
  return true;
}

describe("parseRequestFast against parseRequest", () => {
  it("reads the lines miners send, compact and spaced, keys in any order", () => {
    const lines = [
      `{"id":4,"method":"mining.submit","params":["0xabc.rig1","1f","0000000000000001","66000000","deadbeef"]}`,
      `{"params": ["0xabc.rig1", "1f", "0000000000000001", "66000000", "deadbeef", "00002000"], "id": 12, "method": "mining.submit"}`,
      `{"id":"a-b","method":"mining.ping"}`,
      `{"id":null,"method":"mining.subscribe","params":[]}`,
      ` {"method":"mining.authorize","params":["0xabc","x"],"id":-3}\r`,
      `{"id":123456789012345,"method":"mining.submit","params":["é","ü","","",""]}`,
      `{"id":"${"x".repeat(65)}","method":"m","params":["a"]}`,
    ];
    for (const l of lines) expect(agrees(l), l).to.equal(true);
  });

  it("leaves to JSON.parse what it does not read itself", () => {
    const lines = [
      `{"id":1.5,"method":"m","params":[]}`,
      `{"id":1e3,"method":"m","params":[]}`,
      `{"id":01,"method":"m","params":[]}`,
      `{"id":1234567890123456,"method":"m","params":[]}`,
      `{"id":1,"method":"m","params":["a\\"b"]}`,
      `{"id":1,"method":"m","params":["a\\u0041"]}`,
      `{"id":1,"method":"m","params":[1,2]}`,
      `{"id":1,"method":"m","params":[["a"]]}`,
      `{"id":1,"method":"m","params":null}`,
      `{"id":1,"method":"m","method":"n"}`,
      `{"id":1,"id":2,"method":"m"}`,
      `{"id":1,"jsonrpc":"2.0","method":"m"}`,
      `{"id":1,"params":[]}`,
      `{"id":1,"method":"m"} x`,
      `{"id":1,"method":"m",}`,
      `{"id":1,"method":"m","params":["a",]}`,
      `{"id":1,"method":"m","params":["a"`,
      `{"id":1,"method":"a\tb"}`,
      `[1,2]`,
      ``,
      `{`,
      `{"id":true,"method":"m"}`,
      `{"id":-,"method":"m"}`,
      `{"id":nul,"method":"m"}`,
    ];
    for (const l of lines) expect(parseRequestFast(l), l).to.equal(undefined);
  });

  it("agrees with parseRequest on random requests and on random mutations of them", () => {
    const plain = fc.string({ maxLength: 12 });
    const request = fc.record({
      id: fc.oneof(fc.integer({ min: -1e15, max: 1e15 }), fc.double(), plain, fc.constant(null), fc.boolean()),
      method: fc.oneof(fc.constantFrom("mining.submit", "mining.ping", "mining.authorize"), plain),
      params: fc.array(fc.oneof(plain, fc.integer(), fc.constant(null)), { maxLength: 7 }),
    });
    let read = 0;
    fc.assert(
      fc.property(request, fc.integer({ min: 0, max: 2 }), fc.nat(), fc.string({ maxLength: 3 }), (r, spacing, at, insert) => {
        let line = JSON.stringify(r, null, spacing === 0 ? undefined : spacing);
        if (spacing === 2) {
          // Something inserted anywhere: whatever it does to the line, the two must still agree.
          const k = at % (line.length + 1);
          line = line.slice(0, k) + insert + line.slice(k);
        }
        if (agrees(line)) read++;
      }),
      { numRuns: 3000 },
    );
    expect(read).to.be.greaterThan(100);
  });
});
