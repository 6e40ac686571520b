// Where SCRAM credentials live. The SASL mechanisms and the AlterUserScramCredentials handler see
// only this interface: in single-broker mode the local metadata store keeps the credentials (see
// LocalCredentialStore), and in cluster mode etcd will, behind the same four calls.

import type { ScramCredential, ScramMechanism } from './scram-credential.js';

export interface CredentialStore {
  /** The user's credential for one mechanism, if any. */
  scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined;
  /** Every user with at least one credential, with their credentials. */
  scramUsers(): ReadonlyMap<string, readonly ScramCredential[]>;
  /** Adds or replaces one credential. */
  upsertScramCredential(user: string, credential: ScramCredential): Promise<void>;
  /** Removes one credential; false when there was none. */
  deleteScramCredential(user: string, mechanism: ScramMechanism): Promise<boolean>;
}

/** A credential as the local metadata document keeps it: base64 text, no password. */
export interface StoredScramCredential {
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** Users → mechanism → credential: the `scramCredentials` section of the metadata document. */
export type StoredScramCredentials = Record<string, Record<string, StoredScramCredential>>;

/** The part of the local metadata store the credential store needs: one section, read and replaced. */
export interface ScramCredentialSection {
  scramCredentials(): Readonly<StoredScramCredentials>;
  setScramCredentials(credentials: StoredScramCredentials): Promise<void>;
}

/** Credentials kept in the local metadata document (single-broker mode). */
export class LocalCredentialStore implements CredentialStore {
  constructor(private readonly section: ScramCredentialSection) {}

  scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    const stored = this.section.scramCredentials()[user]?.[mechanism];
    return stored === undefined ? undefined : fromStored(mechanism, stored);
  }

  scramUsers(): ReadonlyMap<string, readonly ScramCredential[]> {
    const users = new Map<string, ScramCredential[]>();
    for (const [user, byMechanism] of Object.entries(this.section.scramCredentials())) {
      const credentials = Object.entries(byMechanism).map(([mechanism, stored]) =>
        fromStored(mechanism as ScramMechanism, stored),
      );
      if (credentials.length > 0) users.set(user, credentials);
    }
    return users;
  }

  async upsertScramCredential(user: string, credential: ScramCredential): Promise<void> {
    const all = structuredClone(this.section.scramCredentials()) as StoredScramCredentials;
    all[user] = { ...all[user], [credential.mechanism]: toStored(credential) };
    await this.section.setScramCredentials(all);
  }

  async deleteScramCredential(user: string, mechanism: ScramMechanism): Promise<boolean> {
    const all = structuredClone(this.section.scramCredentials()) as StoredScramCredentials;
    if (all[user]?.[mechanism] === undefined) return false;
    delete all[user][mechanism];
    if (Object.keys(all[user]).length === 0) delete all[user];
    await this.section.setScramCredentials(all);
    return true;
  }
}

/** Credentials in memory only: for tests and for brokers without a metadata document. */
export class MemoryCredentialStore extends LocalCredentialStore {
  constructor() {
    let credentials: StoredScramCredentials = {};
    super({
      scramCredentials: () => credentials,
      setScramCredentials: (next) => {
        credentials = next;
        return Promise.resolve();
      },
    });
  }
}

function fromStored(mechanism: ScramMechanism, stored: StoredScramCredential): ScramCredential {
  return {
    mechanism,
    salt: Buffer.from(stored.salt, 'base64'),
    iterations: stored.iterations,
    storedKey: Buffer.from(stored.storedKey, 'base64'),
    serverKey: Buffer.from(stored.serverKey, 'base64'),
  };
}

function toStored(credential: ScramCredential): StoredScramCredential {
  return {
    salt: credential.salt.toString('base64'),
    iterations: credential.iterations,
    storedKey: credential.storedKey.toString('base64'),
    serverKey: credential.serverKey.toString('base64'),
  };
}
