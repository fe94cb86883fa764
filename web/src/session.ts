// Who the token acts for, and the directory every view shares.

import { Api, ApiError, type Contract, type Gpu, type Party, type Site } from "./api";

export type Me = { admin: true } | { admin: false; party: string };

export interface Ctx {
  api: Api;
  me: Me;
  /** The party the buyer-side views are about (a party: itself; an admin picks). */
  buyer: string;
  parties: Party[];
  sites: Site[];
  gpus: Gpu[];
  contracts: Contract[];
  /** Today, or the last day with holdings when the ledger is all in the past or future. */
  defaultAt: string;
}

const TOKEN_KEY = "cascade.token";

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(t: string | null) {
  if (t === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, t);
}

async function mayAskExposure(api: Api, party: string, at: string): Promise<boolean> {
  try {
    await api.exposure(party, at);
    return true;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return false;
    throw e;
  }
}

/**
 * The API has no "who am I" route, but what it shows answers the question
 * without asking for anything forbidden (a refused request would show up
 * as an error in the browser's console): a party's contracts all name it,
 * and a chain lists every seller (`sellers`) to admins only. A contract's
 * seller sees its `backed_by`, its buyer does not. Only a token with no
 * contract at all, or whose contracts are all sold from a site between the
 * same two parties, needs a probe: exposure, which a party may ask only
 * for itself.
 */
async function whoAmI(api: Api, parties: Party[], contracts: Contract[], at: string): Promise<Me> {
  if (contracts.length > 0) {
    const chain = await api.chain(contracts[0].id);
    if (chain.sellers) return { admin: true };
    const common = new Set([contracts[0].seller, contracts[0].buyer]);
    for (const c of contracts) {
      for (const p of [...common]) if (c.seller !== p && c.buyer !== p) common.delete(p);
    }
    if (common.size === 1) return { admin: false, party: [...common][0] };
    const { seller, buyer } = contracts[0];
    for (const c of contracts) {
      if (c.backed_by) return { admin: false, party: c.seller };
      if (!c.site) return { admin: false, party: c.buyer };
    }
    return { admin: false, party: (await mayAskExposure(api, buyer, at)) ? buyer : seller };
  }
  for (const p of parties) {
    if (await mayAskExposure(api, p.id, at)) {
      const other = parties.find((q) => q.id !== p.id);
      if (other && (await mayAskExposure(api, other.id, at))) return { admin: true };
      return { admin: false, party: p.id };
    }
  }
  throw new Error("this token may not read any party's exposure; the dashboard needs a party or admin token");
}

function defaultInstant(contracts: Contract[], now: number): string {
  if (contracts.length === 0) return new Date(now).toISOString().slice(0, 10);
  const start = Math.min(...contracts.map((c) => Date.parse(c.start)));
  const end = Math.max(...contracts.map((c) => Date.parse(c.end)));
  let t = now;
  if (t < start) t = start;
  if (t >= end) t = end - 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

export async function signIn(token: string): Promise<Ctx> {
  const api = new Api(token);
  const [parties, sites, gpus, contracts] = await Promise.all([
    api.get<Party[]>("/parties"),
    api.get<Site[]>("/sites"),
    api.get<Gpu[]>("/gpus"),
    api.contracts(),
  ]);
  const defaultAt = defaultInstant(contracts, Date.now());
  const me = await whoAmI(api, parties, contracts, defaultAt);
  let buyer: string;
  if (!me.admin) buyer = me.party;
  else {
    // An admin starts with the party that buys the most, which is usually
    // the one whose concentration is interesting.
    const held = new Map<string, number>();
    for (const c of contracts) held.set(c.buyer, (held.get(c.buyer) ?? 0) + c.gpus);
    buyer = [...held.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? parties[0]?.id ?? "";
  }
  return { api, me, buyer, parties, sites, gpus, contracts, defaultAt };
}

export function partyName(ctx: Ctx, id: string): string {
  return ctx.parties.find((p) => p.id === id)?.name ?? id;
}

export function h100e(ctx: Ctx, gpu: string): number {
  return ctx.gpus.find((g) => g.id === gpu)?.h100e ?? 1;
}
