// Discord refuses (50013) to create a role or an overwrite that allows or denies a permission the
// bot itself does not hold, unless it is the owner or an Administrator. A restore therefore keeps
// only the bits the bot may grant, and reports what it dropped.
import { PermissionFlagsBits } from 'discord-api-types/v10';

export type Grantable = (permissions: string) => { kept: string; dropped: string[] };

const NAMES = Object.entries(PermissionFlagsBits) as [string, bigint][];

/** The names of the permission bits in `bits` (unknown bits as their number). */
export function permissionNames(bits: bigint): string[] {
  const names = NAMES.filter(([, bit]) => (bits & bit) === bit).map(([name]) => name);
  const known = NAMES.reduce((all, [, bit]) => all | bit, 0n);
  return bits & ~known ? [...names, `0x${(bits & ~known).toString(16)}`] : names;
}

/** Restricts permission sets to `held` (everything when the bot is owner or Administrator). */
export function grantable(held: bigint, unrestricted: boolean): Grantable {
  return (permissions) => {
    const wanted = BigInt(permissions);
    if (unrestricted) return { kept: permissions, dropped: [] };
    return { kept: (wanted & held).toString(), dropped: permissionNames(wanted & ~held) };
  };
}
