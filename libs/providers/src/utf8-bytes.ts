import { isUtf8 } from 'node:buffer';

/**
 * `bytes` as they go to the client: themselves when they are UTF-8 (one SIMD scan, no copy), else a copy in which
 * each sequence that is not UTF-8 is U+FFFD, as in every translated answer and the cache's replays. JSON exchanged
 * between systems must be UTF-8 (RFC 8259 §8.1): Python's SDKs raised UnicodeDecodeError on an upstream's Latin-1 byte.
 */
export function utf8Bytes(bytes: Buffer): Buffer {
  return isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'));
}
