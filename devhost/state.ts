// <DEVHOST_DIR>/state.json: what a Mattermost server keeps in its Systems table
// (diagnostic id, install date), plus the dev host's users and licence switch.

import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';

import {writeJsonAtomic} from './config.ts';

export type LicenseKind = 'enterprise' | 'none';

export function isLicenseKind(s: string): s is LicenseKind {
  return s === 'enterprise' || s === 'none';
}

/** Fixed 26-character ids (Mattermost ids are 26 chars of [a-z0-9]). */
export const users = {
  admin: {id: 'devhostadmin00000000000000', sessionId: 'devhostadminsession0000000', username: 'admin'},
  member: {id: 'devhostmember0000000000000', sessionId: 'devhostmembersession000000', username: 'member'},
} as const;

export type UserKind = keyof typeof users | 'anonymous';

export function isUserKind(s: string): s is UserKind {
  return s === 'admin' || s === 'member' || s === 'anonymous';
}

/** model.NewId(): 26 chars of base32 (a-z0-9 alphabet Mattermost uses). */
export function newId(): string {
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769';
  const bytes = randomBytes(26);
  let out = '';
  for (const b of bytes) out += alphabet[b % 32];
  return out;
}

interface StateFile {
  diagnosticId: string;
  installDate: number;
}

export class DevState {
  license: LicenseKind;

  private constructor(
    readonly diagnosticId: string,
    readonly installDate: number,
    license: LicenseKind,
  ) {
    this.license = license;
  }

  /** Loads state.json, creating a fresh diagnostic id and install date the first time. */
  static async open(file: string, license: LicenseKind, now = Date.now): Promise<DevState> {
    let data: Partial<StateFile> = {};
    try {
      data = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<StateFile>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const complete: StateFile = {
      diagnosticId: typeof data.diagnosticId === 'string' && data.diagnosticId ? data.diagnosticId : newId(),
      installDate: typeof data.installDate === 'number' ? data.installDate : now(),
    };
    if (complete.diagnosticId !== data.diagnosticId || complete.installDate !== data.installDate) {
      await writeJsonAtomic(file, complete);
    }
    return new DevState(complete.diagnosticId, complete.installDate, license);
  }

  /** model.License as GetLicense returns it (undefined = no licence). */
  licenseValue(): Record<string, unknown> | undefined {
    if (this.license === 'none') return undefined;
    const issued = this.installDate;
    return {
      Id: 'devhostlicense000000000000',
      IssuedAt: issued,
      StartsAt: issued,
      ExpiresAt: issued + 10 * 365 * 24 * 3600 * 1000,
      Customer: {Id: 'devhostcustomer00000000000', Name: 'Dev Host', Email: 'devhost@example.com', Company: 'Dev Host'},
      Features: {Users: 1000, LDAP: true, Cluster: true, Metrics: true, Compliance: true, Elasticsearch: true, DataRetention: true, FutureFeatures: true},
      SkuName: 'Enterprise',
      SkuShortName: 'enterprise',
      IsTrial: false,
      IsGovSku: false,
    };
  }
}
