/** Small tools for the hostile-client tests (issue 11): raw MQTT headers and a chosen Host header. */
import { request } from 'node:http';

/** An MQTT fixed header (MQTT 3.1.1 §2.2): the type byte and the remaining length as §2.2.3 encodes it. */
export function mqttHeader(type: number, length: number): Buffer {
  const out = [type];
  let n = length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A GET with a chosen Host header (fetch does not let a page or a test set it). */
export function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
