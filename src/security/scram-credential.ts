// SCRAM credentials (RFC 5802, RFC 7677) as Kafka stores them: never the password, only a salt,
// an iteration count and two keys derived from the salted password. The same arithmetic serves
// the broker (checking a client's proof), the CLI and admin client (AlterUserScramCredentials
// sends a salted password, never the password) and PLAIN (which re-derives the stored key from a
// password it was sent in the clear, so PLAIN needs no password file either).
//
//   password ──PBKDF2(salt, iterations)──► saltedPassword ──HMAC "Client Key"──► clientKey ──H──► storedKey
//                                                          └─HMAC "Server Key"──► serverKey

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export const scramMechanisms: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** AlterUserScramCredentials' mechanism numbers (Kafka's ScramMechanism enum). */
export const scramMechanismCodes: Readonly<Record<ScramMechanism, number>> = {
  'SCRAM-SHA-256': 1,
  'SCRAM-SHA-512': 2,
};

export function scramMechanismByCode(code: number): ScramMechanism | undefined {
  return scramMechanisms.find((mechanism) => scramMechanismCodes[mechanism] === code);
}

export function isScramMechanism(name: string): name is ScramMechanism {
  return (scramMechanisms as readonly string[]).includes(name);
}

/** Kafka accepts 4096 to 16384 iterations; fewer would make a stolen credential cheap to attack. */
export const scramIterationsMin = 4096;
export const scramIterationsMax = 16384;
export const scramIterationsDefault = 4096;

export interface ScramCredential {
  readonly mechanism: ScramMechanism;
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

function hashName(mechanism: ScramMechanism): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

export function hashLength(mechanism: ScramMechanism): number {
  return mechanism === 'SCRAM-SHA-256' ? 32 : 64;
}

export function hmac(mechanism: ScramMechanism, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(hashName(mechanism), key).update(data).digest();
}

export function hash(mechanism: ScramMechanism, data: Buffer): Buffer {
  return createHash(hashName(mechanism)).update(data).digest();
}

/** PBKDF2 of the password; asynchronous, since thousands of HMACs would stall the event loop. */
export function saltPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  // RFC 5802 asks for SASLprep; NFKC covers what matters for the passwords people type.
  return pbkdf2Async(
    Buffer.from(password.normalize('NFKC'), 'utf8'),
    salt,
    iterations,
    hashLength(mechanism),
    hashName(mechanism),
  );
}

export function credentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salt: Buffer,
  iterations: number,
  saltedPassword: Buffer,
): ScramCredential {
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key');
  return {
    mechanism,
    salt,
    iterations,
    storedKey: hash(mechanism, clientKey),
    serverKey: hmac(mechanism, saltedPassword, 'Server Key'),
  };
}

/** What AlterUserScramCredentials carries for a new password: a fresh salt and the salted password. */
export async function saltedPasswordUpsertion(
  mechanism: ScramMechanism,
  password: string,
  iterations = scramIterationsDefault,
): Promise<{ salt: Buffer; saltedPassword: Buffer; iterations: number }> {
  const salt = randomBytes(32);
  return {
    salt,
    iterations,
    saltedPassword: await saltPassword(mechanism, password, salt, iterations),
  };
}

export async function newScramCredential(
  mechanism: ScramMechanism,
  password: string,
  iterations = scramIterationsDefault,
): Promise<ScramCredential> {
  const { salt, saltedPassword } = await saltedPasswordUpsertion(mechanism, password, iterations);
  return credentialFromSaltedPassword(mechanism, salt, iterations, saltedPassword);
}

/** Whether `password` is the one `credential` was made from (PLAIN's check), in constant time. */
export async function passwordMatches(
  credential: ScramCredential,
  password: string,
): Promise<boolean> {
  const saltedPassword = await saltPassword(
    credential.mechanism,
    password,
    credential.salt,
    credential.iterations,
  );
  const derived = credentialFromSaltedPassword(
    credential.mechanism,
    credential.salt,
    credential.iterations,
    saltedPassword,
  );
  return timingSafeEqual(derived.storedKey, credential.storedKey);
}

export function xor(left: Buffer, right: Buffer): Buffer {
  const result = Buffer.alloc(left.length);
  for (let index = 0; index < left.length; index++) result[index] = left[index] ^ right[index];
  return result;
}
