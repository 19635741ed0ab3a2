import { hexToBuffer } from "./hex";

/** Reverses the bytes inside each 4-byte word (an involution). */
export function swapPrevhashWords(hex: string): string {
  const buf = hexToBuffer(hex, "prevhash");
  if (buf.length % 4 !== 0) throw new RangeError("prevhash: length must be a multiple of 4 bytes");
  return buf.swap32().toString("hex");
}

/**
 * Block hash (display hex) -> mining.notify prevhash: internal byte order with each 4-byte word
 * byte-swapped, which is the display hex with its 8 words in reverse order.
 */
export function prevhashForNotify(displayHex: string): string {
  const buf = hexToBuffer(displayHex, "prevhash", 32);
  return buf.reverse().swap32().toString("hex");
}

/** mining.notify prevhash -> the 32 bytes that go into the header (internal order). */
export function prevhashFromNotify(notifyHex: string): Buffer {
  return hexToBuffer(notifyHex, "prevhash", 32).swap32();
}

/** mining.notify prevhash -> block hash display hex (inverse of prevhashForNotify). */
export function prevhashNotifyToDisplay(notifyHex: string): string {
  return prevhashFromNotify(notifyHex).reverse().toString("hex");
}
