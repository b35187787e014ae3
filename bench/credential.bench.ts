/**
 * Credential benchmark (issue 12): one rotating-code verification (SPEC §14: the credential,
 * the device's Ed25519 signature, the step) against a plain credential's verification (§4) in
 * the same run, interleaved in short slices so a noisy machine hits both alike.
 * Targets: ≤ 0.5 ms per rotating code, ≤ 2× a plain credential.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  codeVerifier,
  credentialVerifier,
  deviceJwkOf,
  generateSigningKey,
  issueCredential,
  jwksOf,
  rotatingStep,
  signRotatingCode,
} from '../protocol/index.ts';
import { fmt, type BenchContext, type BenchRow } from './lib.ts';

const SLICE_MS = 200;
const ROUNDS = 10;

async function msPerOp(fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < SLICE_MS) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function credentialBench(ctx: BenchContext): Promise<BenchRow[]> {
  const now = Date.now();
  const cloud = await generateSigningKey('k-bench');
  const jwks = jwksOf([cloud]);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const deviceJwk = deviceJwkOf(publicKey.export({ format: 'jwk' }))!;
  const base = { riderId: 'r-0123456789abcdef', group: 'courier', issuedAtMs: now, ttlSeconds: 30 * 86_400 };
  const plain = await issueCredential(cloud, base);
  const bound = await issueCredential(cloud, { ...base, deviceJwk });
  const code = signRotatingCode(bound, rotatingStep(now), privateKey);
  // A revocation list of a realistic size, as a station holds it.
  const revoked = new Set(Array.from({ length: 10_000 }, (_, i) => `r-${i.toString(16).padStart(16, '0')}`));
  const verifyPlain = credentialVerifier(jwks);
  const verifyCode = codeVerifier(jwks);
  const policy = { requireDeviceBound: false };
  const check = async () => {
    const a = await verifyPlain(plain, revoked, now);
    const b = await verifyCode(code, revoked, now, policy);
    if (!a.ok || !b.ok) throw new Error('bench codes did not verify');
  };
  await check();
  for (let i = 0; i < 2000; i++) await check(); // warm up both paths

  const plainMs: number[] = [];
  const codeMs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plainMs.push(await msPerOp(() => verifyPlain(plain, revoked, now)));
    codeMs.push(await msPerOp(() => verifyCode(code, revoked, now, policy)));
  }
  ctx.progress(`${ROUNDS} rounds of ${SLICE_MS} ms each side`);
  const p = median(plainMs);
  const c = median(codeMs);
  return [
    { name: 'plain credential verification (baseline, median of slices)', value: `${fmt(p, 3)} ms` },
    { name: 'rotating code verification (credential + device signature + step)', value: `${fmt(c, 3)} ms`, ratio: `${fmt(c / p, 2)}× plain (targets ≤ 2×, ≤ 0.5 ms)` },
  ];
}
