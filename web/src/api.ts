// The dashboard's only data source: the service's HTTP API, called with the
// signed-in token, so the page shows exactly what that token may see.

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { field: string; pointer?: string; message: string }[];
}

/** A non-2xx answer, with its RFC 7807 problem document when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    readonly problem: Problem | null,
  ) {
    super(
      `${path}: ${status} ${problem?.title ?? ""}${problem?.detail ? ` — ${problem.detail}` : ""}`.trim(),
    );
  }
}

/** The route itself does not exist on this server (an older build). */
export class NotAvailable extends Error {
  constructor(readonly route: string) {
    super(`${route} is not available on this server`);
  }
}

export interface Party { id: string; name?: string }
export interface Gpu { id: string; h100e: number; watts: number }
export interface Site {
  id: string; owner: string; region: string; power_mw?: number; gpus: Record<string, number>;
}
export interface Amendment { effective: string; gpus: number }
export interface Contract {
  id: string; seller: string; buyer: string; gpu: string; gpus: number;
  start: string; end: string; price_per_gpu_hour: string; resale: boolean;
  site?: string; backed_by?: string; amendments: Amendment[];
  root_site: string; physical_provider: string; region: string; value_usd: string;
}
export interface Commitment {
  id: string; buyer: string; seller: string; start: string; end: string; usd: string; usd_total: string;
}
export interface Offer {
  id: string; seller: string; gpu: string; max_gpus: number; block_gpus: number;
  start: string; end: string; price_per_gpu_hour: string; site?: string; backed_by?: string;
  root_site: string; physical_provider: string; region: string;
}
export interface ExposureRow { id: string; gpus: number; h100e: number; share: number }
export interface Exposure {
  buyer: string; at: string;
  total: { gpus: number; h100e: number };
  by_provider: ExposureRow[];
  by_counterparty: ExposureRow[];
  by_site: { id: string; provider: string; region: string; gpus: number; h100e: number; share: number }[];
  hhi: number;
  n_minus_1: { lost: string; remaining_h100e: number; remaining_share: number }[];
  commitments: { id: string; seller: string; usd: string; spent_usd: string; remaining_usd: string }[];
  flags: string[];
  /** Delivery risk (second wave): present once the build-out work has landed. */
  unbuilt?: { asof: string; h100e: number; share: number; by_provider: { id: string; h100e: number; share: number }[] };
}
export interface ChainLink {
  tier: number; id?: string; seller?: string; buyer?: string; gpu: string; gpus: number;
  start: string; end: string; price_per_gpu_hour?: string; resale?: boolean; site?: string;
  backed_by?: string; amendments?: Amendment[];
}
export interface Chain {
  contract: string; physical_provider: string; root_site: string; region: string; tiers: number;
  sellers?: string[]; chain: ChainLink[];
  resold: { id: string; seller: string; buyer: string; gpu: string; gpus: number; start: string; end: string;
    backed_by: string; depth: number; price_per_gpu_hour?: string }[];
}
export interface Purchase {
  offer: string; gpus: number; cost_usd: string; seller: string; provider: string; site: string;
  region: string; start: string; end: string;
}
export interface Plan {
  buyer: string; strategy: string; status: string; reason?: string; objective_usd: string;
  purchases_usd: string; shortfall_usd: string; purchases: Purchase[]; solve_seconds: number;
}

export class Api {
  private openapiPaths: Promise<Set<string>> | null = null;

  constructor(readonly token: string, readonly base = "") {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      Accept: "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) {
      let problem: Problem | null = null;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = { detail: text.slice(0, 200) };
      }
      throw new ApiError(r.status, path, problem);
    }
    return JSON.parse(text) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** Route templates the server documents (`/sites/{id}/timeline`, ...). */
  routes(): Promise<Set<string>> {
    if (!this.openapiPaths) {
      this.openapiPaths = fetch(this.base + "/openapi.json", { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : { paths: {} }))
        .then((doc: { paths?: Record<string, unknown> }) => new Set(Object.keys(doc.paths ?? {})))
        .catch(() => new Set<string>());
    }
    return this.openapiPaths;
  }

  /** Whether the server documents a route (`/sites/{id}/timeline`; parameter names do not matter). */
  async has(template: string): Promise<boolean> {
    const norm = (p: string) => p.replace(/\{[^}]*\}/g, "{}");
    const want = norm(template);
    for (const p of await this.routes()) if (norm(p) === want) return true;
    return false;
  }

  /**
   * A GET on a route that later builds add. The server's OpenAPI document
   * lists every route it has: a route it does not list is NotAvailable
   * without asking (a 404 would be logged as an error in the console).
   */
  async optional<T>(template: string, path: string): Promise<T> {
    if (!(await this.has(template))) throw new NotAvailable(template);
    return this.get<T>(path);
  }

  async contracts(): Promise<Contract[]> {
    const page = 1000;
    const all: Contract[] = [];
    for (let offset = 0; ; offset += page) {
      const got = await this.get<Contract[]>(`/contracts?offset=${offset}&limit=${page}`);
      all.push(...got);
      if (got.length < page) return all;
    }
  }

  exposure(buyer: string, at: string): Promise<Exposure> {
    return this.get<Exposure>(`/exposure?buyer=${encodeURIComponent(buyer)}&at=${encodeURIComponent(at)}`);
  }

  chain(id: string): Promise<Chain> {
    return this.get<Chain>(`/contracts/${encodeURIComponent(id)}/chain`);
  }
}

/** Runs `f` over `items` with at most `n` requests in flight. */
export async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
