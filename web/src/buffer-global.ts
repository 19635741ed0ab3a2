import { Buffer } from "buffer";

// src/merkle is shared with the Node aggregator and uses Node's global Buffer.
(globalThis as { Buffer?: unknown }).Buffer ??= Buffer;
