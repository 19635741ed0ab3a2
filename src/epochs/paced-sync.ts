import fs from "node:fs";

/** Bytes written between two fdatasyncs of a large file being written. */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

/**
 * fdatasync every 16 MiB while a large file (a share log, an epoch file) is written, on the build
 * worker's thread. Gigabytes left dirty in the page cache made every other fsync on the machine
 * wait behind their writeback: the share store's group commits, which every Stratum
 * acknowledgement waits for (100-300 ms while a million-account epoch's log was written).
 */
export class PacedSync {
  private unsynced = 0;

  constructor(private readonly fd: number) {}

  /** Counts `bytes` just written; syncs when 16 MiB are pending. */
  wrote(bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced >= SYNC_EVERY_BYTES) {
      fs.fdatasyncSync(this.fd);
      this.unsynced = 0;
    }
  }
}
