/**
 * The floor under any Stratum server here (bench:stratum --floor): a TCP server that answers the
 * handshake with canned lines and every submit with `true` at once, checking nothing, storing
 * nothing. What it costs per share is Node's net stack and the two system calls (a read and a
 * write over loopback) that every share costs whatever the server does with it. A baseline for the
 * bench only, never a part of the pool.
 */
import net from "node:net";

const NOTIFY = (ntime: number) =>
  `{"id":null,"method":"mining.set_difficulty","params":[0.0000000001]}\n` +
  `{"id":null,"method":"mining.notify","params":["1","${"00".repeat(32)}","01000000","ffffffff",[],"20000000","1d00ffff","${ntime.toString(16).padStart(8, "0")}",true]}\n`;

export interface FloorServer {
  port: number;
  /** Submits answered. */
  answered(): number;
  close(): Promise<void>;
}

export async function startFloorServer(): Promise<FloorServer> {
  let answered = 0;
  let en1 = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let rest = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      const text = rest + chunk;
      let start = 0;
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
        const line = text.slice(start, nl);
        start = nl + 1;
        const at = line.indexOf('"id":') + 5;
        const id = line.slice(at, line.indexOf(",", at));
        if (line.includes("mining.submit")) {
          answered++;
          socket.write(`{"id":${id},"result":true,"error":null}\n`);
        } else if (line.includes("mining.subscribe")) {
          socket.write(`{"id":${id},"result":[[["mining.notify","1"]],"${(en1++ >>> 0).toString(16).padStart(8, "0")}",4],"error":null}\n`);
        } else if (line.includes("mining.authorize")) {
          socket.write(`{"id":${id},"result":true,"error":null}\n` + NOTIFY(Math.floor(Date.now() / 1000)));
        }
      }
      rest = text.slice(start);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    answered: () => answered,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
