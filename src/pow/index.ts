export * from "./hex";
export * from "./hash";
export { sha256dJs, sha256Js } from "./sha256js";
export * from "./target";
export * from "./prevhash";
export * from "./coinbase";
export * from "./merkle";
export * from "./header";
export * from "./block";
