// Formatting, and the little exact arithmetic the page does itself.
// Money arrives as exact decimal strings; sums the page computes (accrued
// spend of a commitment) are kept exact in BigInt and rounded once for
// display, like the service does. Floats are used only to place things on
// a chart.

/** An exact decimal: n × 10^-scale. */
export class Dec {
  constructor(
    readonly n: bigint,
    readonly scale: number,
  ) {}

  static parse(s: string): Dec {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s.trim());
    if (!m) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
    const frac = m[3] ?? "";
    const n = BigInt(m[2] + frac) * (m[1] ? -1n : 1n);
    return new Dec(n, frac.length);
  }

  static zero = new Dec(0n, 0);

  private at(scale: number): bigint {
    return this.n * 10n ** BigInt(scale - this.scale);
  }

  add(o: Dec): Dec {
    const scale = Math.max(this.scale, o.scale);
    return new Dec(this.at(scale) + o.at(scale), scale);
  }

  sub(o: Dec): Dec {
    return this.add(new Dec(-o.n, o.scale));
  }

  mulInt(k: bigint): Dec {
    return new Dec(this.n * k, this.scale);
  }

  /** Divides by a positive integer, rounding half away from zero at `scale` places. */
  divInt(k: bigint, scale: number): Dec {
    // q = round(n / 10^this.scale / k × 10^scale)
    const num = this.n * 10n ** BigInt(scale);
    const den = k * 10n ** BigInt(this.scale);
    const neg = num < 0n;
    const a = neg ? -num : num;
    let q = a / den;
    if ((a % den) * 2n >= den) q += 1n;
    return new Dec(neg ? -q : q, scale);
  }

  cmp(o: Dec): number {
    const scale = Math.max(this.scale, o.scale);
    const a = this.at(scale);
    const b = o.at(scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  toNumber(): number {
    return Number(this.n) / 10 ** this.scale;
  }

  toString(): string {
    const neg = this.n < 0n;
    let t = (neg ? -this.n : this.n).toString();
    if (this.scale > 0) {
      t = t.padStart(this.scale + 1, "0");
      t = `${t.slice(0, -this.scale)}.${t.slice(-this.scale)}`;
    }
    return (neg ? "-" : "") + t;
  }
}

/** "15900000000.00" → "$15,900,000,000.00" (exact, from the string). */
export function usdExact(s: string): string {
  const neg = s.startsWith("-");
  const [i, f] = (neg ? s.slice(1) : s).split(".");
  const grouped = i.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${neg ? "−" : ""}$${grouped}${f !== undefined ? `.${f}` : ""}`;
}

/** A short label for charts and tiles: $15.9B, $240M, $1.85. */
export function usdShort(x: number): string {
  const a = Math.abs(x);
  const sign = x < 0 ? "−" : "";
  if (a >= 1e12) return `${sign}$${trim(a / 1e12)}T`;
  if (a >= 1e9) return `${sign}$${trim(a / 1e9)}B`;
  if (a >= 1e6) return `${sign}$${trim(a / 1e6)}M`;
  if (a >= 1e3) return `${sign}$${trim(a / 1e3)}k`;
  return `${sign}$${a.toFixed(2)}`;
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function num(x: number, digits = 0): string {
  return x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function pct(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/** Short form of big counts for axes: 120k, 1.5M. */
export function count(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${trim(x / 1e9)}G`;
  if (a >= 1e6) return `${trim(x / 1e6)}M`;
  if (a >= 1e3) return `${trim(x / 1e3)}k`;
  return num(x, 1);
}

/** An instant as the API takes it: RFC 3339 in UTC, whole seconds. */
export function rfc3339(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function ms(iso: string): number {
  return Date.parse(iso);
}

/** "2026-01-01T00:00:00Z" → "2026-01-01" (UTC), or with the time when it is not midnight. */
export function day(iso: string | number): string {
  const d = new Date(typeof iso === "number" ? iso : ms(iso));
  const t = d.toISOString();
  return t.endsWith("T00:00:00.000Z") ? t.slice(0, 10) : `${t.slice(0, 16).replace("T", " ")}Z`;
}

/** The first instant of the UTC month holding t, and of the next ones. */
export function monthStarts(from: number, to: number, maxPoints = 48): number[] {
  const d = new Date(from);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  const months: number[] = [];
  for (;;) {
    const t = Date.UTC(y, m, 1);
    if (t >= to) break;
    if (t >= from || months.length === 0) months.push(Math.max(t, from));
    m += 1;
    if (m === 12) {
      m = 0;
      y += 1;
    }
  }
  if (months.length <= maxPoints) return months;
  const step = Math.ceil(months.length / maxPoints);
  return months.filter((_, i) => i % step === 0);
}
