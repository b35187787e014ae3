/** Real image files for upload tests: a PNG of one colour, encoded by hand from its spec (RFC 2083) with node:zlib. */
import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A `width` × `height` RGB PNG filled with `rgb`; `noise` adds random pixels so it does not compress (a large file). */
export function pngOf(width: number, height: number, rgb: [number, number, number] = [200, 40, 40], noise = false): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = 1 + width * 3;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    raw[y * row] = 0;
    for (let x = 0; x < width; x++) {
      const o = y * row + 1 + x * 3;
      raw[o] = noise ? Math.floor(Math.random() * 256) : rgb[0];
      raw[o + 1] = noise ? Math.floor(Math.random() * 256) : rgb[1];
      raw[o + 2] = noise ? Math.floor(Math.random() * 256) : rgb[2];
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
