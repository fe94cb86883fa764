//! Importer for SkyPilot catalogs (`vms.csv` format), IO-free: it reads
//! from any `std::io::Read`; finding files is the caller's job.
//!
//! One offer per (seller, region, GPU class, GPUs per instance) at the best
//! per-GPU on-demand price of that group (`Price / (AcceleratorCount ×
//! chips per accelerator)`); blocks are whole instances (TPU: whole
//! slices). The region is the site. A marketplace's row (see
//! [`MARKETPLACES`]) whose instance name names the real provider becomes a
//! resale: the marketplace's offer is `backed_by` a resellable contract it
//! holds from that provider, drawn on the provider's site. Catalogs carry
//! no capacity, so the caller says how many GPUs each offer sells
//! (`capacity_gpus`). docs/import.md is the user's guide.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cascade_core::{
    Contract, GpuClass, Gpus, Id, Instant, Offer, Party, Positive, Scenario, Site, Source,
    UsdPerGpuHour, Window,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::h100e;

/// Columns every catalog needs, besides `Cloud` (needed unless the caller
/// names the cloud, as for SkyPilot's per-cloud `<cloud>/vms.csv`).
/// `InstanceType` is optional: without it no marketplace row can be traced
/// to its provider and no accelerator-only price can be recognised.
pub const NEEDED_COLUMNS: [&str; 4] = ["AcceleratorName", "AcceleratorCount", "Price", "Region"];

/// A marketplace cloud: it resells other providers' machines, and its
/// instance names start with the provider's name and `_`.
#[derive(Clone, Copy, Debug)]
pub struct Marketplace {
    /// The SkyPilot cloud key.
    pub cloud: &'static str,
    /// Instance-name prefix → provider party (the SkyPilot cloud key where
    /// the provider is also a SkyPilot cloud, so that both are one party).
    pub providers: &'static [(&'static str, &'static str)],
}

/// The marketplaces known to the importer (docs/import.md shows this table).
pub const MARKETPLACES: &[Marketplace] = &[Marketplace {
    cloud: "shadeform",
    providers: &[
        ("lambdalabs", "lambda"),
        ("paperspace", "paperspace"),
        ("crusoe", "crusoe"),
        ("massedcompute", "massedcompute"),
        ("denvr", "denvr"),
        ("excesssupply", "excesssupply"),
        ("hyperstack", "hyperstack"),
        ("scaleway", "scaleway"),
        ("vultr", "vultr"),
        ("datacrunch", "datacrunch"),
        ("nebius", "nebius"),
        ("digitalocean", "do"),
        ("oblivus", "oblivus"),
        ("latitude", "latitude"),
        ("voltagepark", "voltagepark"),
        ("tensordock", "tensordock"),
        ("imwt", "imwt"),
        ("boost", "boost"),
    ],
}];

/// The horizon of imported offers when the caller gives none: calendar
/// year 2027, fixed so that the same catalog gives the same scenario on
/// any day.
pub fn default_window() -> Window {
    Window::new(
        Instant::from_date(2027, 1, 1).expect("valid date"),
        Instant::from_date(2028, 1, 1).expect("valid date"),
    )
    .expect("start < end")
}

/// How to turn catalog rows into a scenario.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// GPUs each offer sells (and each site has per class and seller).
    pub capacity_gpus: u32,
    /// Keep only instances with exactly this many GPUs (chips for TPUs).
    pub instance_gpus: Option<u32>,
    /// Window of every offer.
    pub window: Window,
    /// The scenario's `name`.
    pub name: String,
    /// Turn marketplace rows into resales of the provider their instance
    /// name names (what a user wants); `false` keeps each marketplace as its
    /// own provider, as the first importer did (the planning benchmark
    /// keeps the scenario it was measured on).
    pub marketplaces_as_resellers: bool,
}

/// Why rows were left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The accelerator is not in the h100e table (docs/h100e.md).
    Unmapped,
    /// No on-demand price.
    NoPrice,
    /// A fraction of an accelerator (e.g. 0.5 GPU): no whole block.
    FractionalCount,
    /// One instance has more GPUs than `capacity_gpus`.
    LargerThanCapacity,
    /// Not the instance size asked for (`instance_gpus`).
    OtherInstanceSize,
    /// A row of another cloud than the one asked for.
    OtherCloud,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Unmapped => "accelerator without an h100e mapping (docs/h100e.md)",
            SkipReason::NoPrice => "no on-demand price",
            SkipReason::FractionalCount => "a fraction of an accelerator per instance",
            SkipReason::LargerThanCapacity => "instance larger than --capacity-gpus",
            SkipReason::OtherInstanceSize => "instance size other than --instance-gpus",
            SkipReason::OtherCloud => "cloud other than --cloud",
        }
    }
}

/// Rows skipped for one reason and accelerator name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skipped {
    pub rows: usize,
    pub clouds: BTreeSet<String>,
}

/// A scenario made from a catalog, and what was left out.
#[derive(Clone, Debug)]
pub struct Imported {
    pub scenario: Scenario,
    /// Data rows read.
    pub rows: usize,
    /// Rows that went into some offer's best price.
    pub rows_used: usize,
    /// Skipped rows by (reason, accelerator name).
    pub skipped: BTreeMap<(SkipReason, String), Skipped>,
    /// Clouds with rows read but no offer made.
    pub clouds_dropped: Vec<String>,
    /// Marketplace rows traced to a provider: (marketplace, provider) → rows.
    pub resold: BTreeMap<(String, String), usize>,
    /// Marketplace rows whose provider is unknown, sold as the
    /// marketplace's own: (marketplace, instance-name prefix) → rows.
    pub resold_unknown: BTreeMap<(String, String), usize>,
    /// Offers priced from accelerator-only rows (empty `InstanceType`, as
    /// GCP lists GPUs and TPUs): the host VM is not in the price.
    pub accelerator_only: BTreeSet<Id>,
}

impl Imported {
    pub fn skipped_rows(&self) -> usize {
        self.skipped.values().map(|s| s.rows).sum()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("{file}:{line}:{column}: {message}")]
    Csv {
        file: String,
        line: u64,
        column: usize,
        message: String,
    },
    #[error(
        "{file}: the catalog has no column {missing} (needed: {needed}; found: {found}); see docs/import.md"
    )]
    MissingColumns {
        file: String,
        missing: String,
        needed: String,
        found: String,
    },
    #[error("{file}:{line}:{column}: {name} {value:?} is not {what}")]
    BadValue {
        file: String,
        line: u64,
        column: usize,
        name: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("{0} must be positive")]
    NotPositive(&'static str),
    #[error("no row could be imported ({rows} rows read; skipped: {skipped})")]
    Empty { rows: usize, skipped: String },
}

/// An id from free text: lowercase, every character outside
/// `[a-z0-9._-]` becomes `-`, runs of `-` collapse, leading characters that
/// may not start an id are dropped, at most 64 characters.
pub(crate) fn normalise_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let trimmed = trimmed.trim_end_matches('-');
    let mut r: String = trimmed.chars().take(Id::MAX_LEN).collect();
    if r.is_empty() {
        r.push('x');
    }
    r
}

/// A unique id: `base`, else `base-2`, `base-3`, ... (kept within 64 chars).
pub(crate) fn unique(base: String, taken: &mut HashSet<String>) -> Id {
    let mut cand = base.clone();
    let mut k = 2;
    while taken.contains(&cand) {
        let suffix = format!("-{k}");
        let keep = Id::MAX_LEN.saturating_sub(suffix.len()).min(base.len());
        cand = format!("{}{suffix}", &base[..keep]);
        k += 1;
    }
    taken.insert(cand.clone());
    Id::new(&cand).expect("normalised ids are valid")
}

/// Offers are made per group: same seller, physical provider (for
/// marketplace resales), region, class, instance size and price kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct GroupKey {
    seller: String,
    provider: Option<String>,
    region: String,
    class: &'static str,
    gpus: u32,
    accelerator_only: bool,
}

/// Reads catalogs one by one ([`Importer::read`]), then builds the
/// scenario ([`Importer::finish`]).
pub struct Importer {
    options: ImportOptions,
    best: BTreeMap<GroupKey, (Decimal, &'static h100e::GpuSpec)>,
    rows: usize,
    used: usize,
    skipped: BTreeMap<(SkipReason, String), Skipped>,
    clouds_seen: BTreeSet<String>,
    resold: BTreeMap<(String, String), usize>,
    resold_unknown: BTreeMap<(String, String), usize>,
}

impl Importer {
    pub fn new(options: &ImportOptions) -> Result<Importer, ImportError> {
        if options.capacity_gpus == 0 {
            return Err(ImportError::NotPositive("--capacity-gpus"));
        }
        if options.instance_gpus == Some(0) {
            return Err(ImportError::NotPositive("--instance-gpus"));
        }
        Ok(Importer {
            options: options.clone(),
            best: BTreeMap::new(),
            rows: 0,
            used: 0,
            skipped: BTreeMap::new(),
            clouds_seen: BTreeSet::new(),
            resold: BTreeMap::new(),
            resold_unknown: BTreeMap::new(),
        })
    }

    fn skip(&mut self, reason: SkipReason, name: &str, cloud: &str) {
        let name = if name.is_empty() { "(empty)" } else { name };
        let s = self.skipped.entry((reason, name.to_string())).or_default();
        s.rows += 1;
        s.clouds.insert(cloud.to_string());
    }

    /// Reads one catalog. `file` names it in errors; `cloud` is the cloud
    /// of a per-cloud file without a `Cloud` column (SkyPilot's
    /// `<cloud>/vms.csv`), or, for a file with one, the only cloud kept.
    pub fn read<R: std::io::Read>(
        &mut self,
        reader: R,
        file: &str,
        cloud: Option<&str>,
    ) -> Result<(), ImportError> {
        let csv_err = |e: csv::Error| {
            let (line, column) = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    pos,
                    expected_len,
                    len,
                } => (
                    pos.as_ref().map_or(0, |p| p.line()),
                    (*expected_len).min(*len) as usize + 1,
                ),
                csv::ErrorKind::Utf8 { pos, err } => {
                    (pos.as_ref().map_or(0, |p| p.line()), err.field() + 1)
                }
                _ => (e.position().map_or(0, |p| p.line()), 1),
            };
            ImportError::Csv {
                file: file.to_string(),
                line,
                column,
                message: e.to_string(),
            }
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = rdr.headers().map_err(csv_err)?.clone();
        let find = |name: &str| headers.iter().position(|h| h.trim() == name);
        let mut missing: Vec<&str> = NEEDED_COLUMNS
            .iter()
            .copied()
            .filter(|c| find(c).is_none())
            .collect();
        let c_cloud = find("Cloud");
        if c_cloud.is_none() && cloud.is_none() {
            missing.insert(0, "Cloud");
        }
        if !missing.is_empty() {
            let mut needed = vec!["Cloud (or --cloud for a per-cloud file)"];
            needed.extend(NEEDED_COLUMNS);
            return Err(ImportError::MissingColumns {
                file: file.to_string(),
                missing: missing.join(", "),
                needed: needed.join(", "),
                found: if headers.is_empty() {
                    "none".into()
                } else {
                    headers.iter().collect::<Vec<_>>().join(", ")
                },
            });
        }
        let col = |name: &str| find(name).expect("checked above");
        let (c_acc, c_count, c_price, c_region) = (
            col("AcceleratorName"),
            col("AcceleratorCount"),
            col("Price"),
            col("Region"),
        );
        let c_instance = find("InstanceType");

        let mut record = csv::StringRecord::new();
        while rdr.read_record(&mut record).map_err(csv_err)? {
            self.rows += 1;
            let line = record.position().map_or(0, |p| p.line());
            let get = |i: usize| record.get(i).unwrap_or("").trim();
            let bad = |i: usize, name: &'static str, what: &'static str| ImportError::BadValue {
                file: file.to_string(),
                line,
                column: i + 1,
                name,
                value: get(i).to_string(),
                what,
            };
            let row_cloud = match (c_cloud, cloud) {
                (Some(c), wanted) => {
                    let v = get(c);
                    if v.is_empty() {
                        return Err(bad(c, "Cloud", "a cloud name"));
                    }
                    if wanted.is_some_and(|w| !w.eq_ignore_ascii_case(v)) {
                        self.skip(SkipReason::OtherCloud, get(c_acc), v);
                        continue;
                    }
                    v.to_string()
                }
                (None, Some(w)) => w.to_string(),
                (None, None) => unreachable!("checked above"),
            };
            self.clouds_seen.insert(row_cloud.clone());
            let acc = get(c_acc);
            let Some(accel) = h100e::resolve(acc) else {
                self.skip(SkipReason::Unmapped, acc, &row_cloud);
                continue;
            };
            let price = get(c_price);
            if price.is_empty() {
                self.skip(SkipReason::NoPrice, acc, &row_cloud);
                continue;
            }
            let mut price_d = Decimal::from_str(price)
                .or_else(|_| Decimal::from_scientific(price))
                .map_err(|_| bad(c_price, "Price", "a decimal number"))?;
            if price_d.is_zero() {
                // "-0" parses as negative zero; it must never print as -0.
                price_d = Decimal::ZERO;
            }
            if price_d.is_sign_negative() {
                return Err(bad(c_price, "Price", "a price ≥ 0"));
            }
            let count = Decimal::from_str(get(c_count))
                .ok()
                .filter(|c| *c > Decimal::ZERO)
                .ok_or_else(|| bad(c_count, "AcceleratorCount", "a positive number"))?;
            if !count.fract().is_zero() {
                self.skip(SkipReason::FractionalCount, acc, &row_cloud);
                continue;
            }
            let gpus = count
                .to_u32()
                .and_then(|n| n.checked_mul(accel.chips))
                .ok_or_else(|| bad(c_count, "AcceleratorCount", "a count below 2^32"))?;
            if self.options.instance_gpus.is_some_and(|k| k != gpus) {
                self.skip(SkipReason::OtherInstanceSize, acc, &row_cloud);
                continue;
            }
            if gpus > self.options.capacity_gpus {
                self.skip(SkipReason::LargerThanCapacity, acc, &row_cloud);
                continue;
            }
            let region = get(c_region);
            if region.is_empty() {
                return Err(bad(c_region, "Region", "a region name"));
            }
            let instance = c_instance.map(get);
            let provider = MARKETPLACES
                .iter()
                .filter(|_| self.options.marketplaces_as_resellers)
                .find(|m| m.cloud.eq_ignore_ascii_case(&row_cloud))
                .map(|m| {
                    let prefix = instance
                        .and_then(|i| i.split_once('_'))
                        .map_or("", |(p, _)| p);
                    match m
                        .providers
                        .iter()
                        .find(|(p, _)| p.eq_ignore_ascii_case(prefix))
                    {
                        Some((_, provider)) => {
                            *self
                                .resold
                                .entry((row_cloud.clone(), provider.to_string()))
                                .or_default() += 1;
                            Some(provider.to_string())
                        }
                        None => {
                            let shown = if prefix.is_empty() { "(none)" } else { prefix };
                            *self
                                .resold_unknown
                                .entry((row_cloud.clone(), shown.to_string()))
                                .or_default() += 1;
                            None
                        }
                    }
                })
                .unwrap_or(None);
            let mut per_gpu = (price_d / Decimal::from(gpus)).normalize();
            if per_gpu.scale() > 8 {
                per_gpu = per_gpu.round_dp(8).normalize();
            }
            self.used += 1;
            let key = GroupKey {
                seller: row_cloud,
                provider,
                region: region.to_string(),
                class: accel.spec.class,
                gpus,
                accelerator_only: instance.is_some_and(str::is_empty),
            };
            let e = self.best.entry(key).or_insert((per_gpu, accel.spec));
            if per_gpu < e.0 {
                e.0 = per_gpu;
            }
        }
        Ok(())
    }

    /// The scenario: GPU classes, one party per cloud and provider, one
    /// site per provider and region, offers, and the marketplaces' backing
    /// contracts.
    pub fn finish(self) -> Result<Imported, ImportError> {
        if self.best.is_empty() {
            return Err(ImportError::Empty {
                rows: self.rows,
                skipped: self
                    .skipped
                    .iter()
                    .map(|((r, n), s)| format!("{n} ({}: {})", s.rows, r.describe()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let o = &self.options;
        let capacity = Gpus::new("capacity_gpus", i64::from(o.capacity_gpus)).expect("checked > 0");
        let mut s = Scenario {
            name: o.name.clone(),
            ..Scenario::default()
        };

        let mut classes: Vec<&'static h100e::GpuSpec> = self.best.values().map(|v| v.1).collect();
        classes.sort_by(|a, b| a.class.cmp(b.class));
        classes.dedup_by(|a, b| a.class == b.class);
        for c in &classes {
            s.gpus.push(GpuClass {
                id: Id::new_gpu_class(c.class).expect("table ids are valid"),
                h100e: Positive::new("h100e", c.h100e).expect("table h100e > 0"),
                watts: Positive::new("watts", c.watts).expect("table watts > 0"),
            });
        }

        let mut names: BTreeSet<&str> = BTreeSet::new();
        for k in self.best.keys() {
            names.insert(&k.seller);
            if let Some(p) = &k.provider {
                names.insert(p);
            }
        }
        let mut party: HashMap<&str, Id> = HashMap::new();
        let mut taken = HashSet::new();
        for n in names {
            let id = unique(normalise_id(n), &mut taken);
            s.parties.push(Party {
                id: id.clone(),
                name: Some(n.to_string()),
            });
            party.insert(n, id);
        }

        // Capacity per (site owner, region, class): `capacity` for the
        // owner's own offers, plus `capacity` per marketplace reselling it
        // there (each holds one backing contract of that size).
        let mut sellers_at: BTreeMap<(&str, &str, &'static str), BTreeSet<Option<&str>>> =
            BTreeMap::new();
        for k in self.best.keys() {
            let owner = k.provider.as_deref().unwrap_or(&k.seller);
            let reseller = k.provider.as_ref().map(|_| k.seller.as_str());
            sellers_at
                .entry((owner, &k.region, k.class))
                .or_default()
                .insert(reseller);
        }
        let mut site_ix: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut taken_sites = HashSet::new();
        for (&(owner, region, class), sellers) in &sellers_at {
            let si = *site_ix.entry((owner, region)).or_insert_with(|| {
                let id = unique(
                    normalise_id(&format!("{}-{}", party[owner], region)),
                    &mut taken_sites,
                );
                s.sites.push(Site {
                    id,
                    owner: party[owner].clone(),
                    region: region.to_string(),
                    power_mw: None,
                    gpus: Vec::new(),
                });
                s.sites.len() - 1
            });
            let n = i64::from(o.capacity_gpus) * sellers.len() as i64;
            s.sites[si].gpus.push((
                Id::new_gpu_class(class).expect("table ids are valid"),
                Gpus::new("gpus", n).expect("positive"),
            ));
        }

        // Backing contracts, priced at the marketplace's best per-GPU price
        // of the class there (the wholesale price is not public).
        let mut backing: BTreeMap<(&str, &str, &str, &'static str), Decimal> = BTreeMap::new();
        for (k, (price, _)) in &self.best {
            if let Some(p) = &k.provider {
                let e = backing
                    .entry((k.seller.as_str(), p.as_str(), k.region.as_str(), k.class))
                    .or_insert(*price);
                if *price < *e {
                    *e = *price;
                }
            }
        }
        let mut taken_contracts = HashSet::new();
        let mut contract_of: HashMap<(&str, &str, &str, &str), Id> = HashMap::new();
        for (&(market, provider, region, class), price) in &backing {
            let id = unique(
                normalise_id(&format!("{market}-from-{provider}-{region}-{class}")),
                &mut taken_contracts,
            );
            let site = &s.sites[site_ix[&(provider, region)]];
            s.contracts.push(Contract {
                id: id.clone(),
                seller: party[provider].clone(),
                buyer: party[market].clone(),
                gpu: Id::new_gpu_class(class).expect("table ids are valid"),
                gpus: capacity,
                window: o.window,
                price_per_gpu_hour: UsdPerGpuHour::new("price_per_gpu_hour", *price)
                    .expect("checked ≥ 0"),
                source: Source::Site(site.id.clone()),
                resale: true,
            });
            contract_of.insert((market, provider, region, class), id);
        }

        let mut taken_offers = HashSet::new();
        let mut accelerator_only = BTreeSet::new();
        for (k, (price, _)) in &self.best {
            let (base, source) = match &k.provider {
                Some(p) => (
                    format!("{}-{}-{}-{}-x{}", k.seller, p, k.region, k.class, k.gpus),
                    Source::BackedBy(
                        contract_of[&(k.seller.as_str(), p.as_str(), k.region.as_str(), k.class)]
                            .clone(),
                    ),
                ),
                None => (
                    format!("{}-{}-{}-x{}", k.seller, k.region, k.class, k.gpus),
                    Source::Site(
                        s.sites[site_ix[&(k.seller.as_str(), k.region.as_str())]]
                            .id
                            .clone(),
                    ),
                ),
            };
            let id = unique(normalise_id(&base), &mut taken_offers);
            if k.accelerator_only {
                accelerator_only.insert(id.clone());
            }
            s.offers.push(Offer {
                id,
                seller: party[k.seller.as_str()].clone(),
                gpu: Id::new_gpu_class(k.class).expect("table ids are valid"),
                max_gpus: capacity,
                block_gpus: Gpus::new("block_gpus", i64::from(k.gpus)).expect("positive"),
                window: o.window,
                price_per_gpu_hour: UsdPerGpuHour::new("price_per_gpu_hour", *price)
                    .expect("checked ≥ 0"),
                source,
            });
        }

        let sellers: BTreeSet<&str> = self.best.keys().map(|k| k.seller.as_str()).collect();
        let clouds_dropped = self
            .clouds_seen
            .iter()
            .filter(|c| !sellers.contains(c.as_str()))
            .cloned()
            .collect();
        Ok(Imported {
            scenario: s,
            rows: self.rows,
            rows_used: self.used,
            skipped: self.skipped,
            clouds_dropped,
            resold: self.resold,
            resold_unknown: self.resold_unknown,
            accelerator_only,
        })
    }
}

/// Reads one catalog (the combined CSV with a `Cloud` column, or a
/// per-cloud file with `cloud` given) and builds the scenario.
pub fn import_skypilot<R: std::io::Read>(
    reader: R,
    file: &str,
    cloud: Option<&str>,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let mut im = Importer::new(options)?;
    im.read(reader, file, cloud)?;
    im.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> Window {
        Window::new(
            Instant::from_date(2026, 1, 1).unwrap(),
            Instant::from_date(2027, 1, 1).unwrap(),
        )
        .unwrap()
    }

    fn opts() -> ImportOptions {
        ImportOptions {
            capacity_gpus: 64,
            instance_gpus: None,
            window: window(),
            name: "t".into(),
            marketplaces_as_resellers: true,
        }
    }

    fn import(csv: &str, o: &ImportOptions) -> Result<Imported, ImportError> {
        import_skypilot(csv.as_bytes(), "c.csv", None, o)
    }

    fn offer<'a>(imp: &'a Imported, id: &str) -> &'a Offer {
        imp.scenario
            .offers
            .iter()
            .find(|o| o.id.as_str() == id)
            .unwrap_or_else(|| {
                let ids: Vec<_> = imp.scenario.offers.iter().map(|o| o.id.as_str()).collect();
                panic!("no offer {id} in {ids:?}")
            })
    }

    const CSV: &str = "\
Cloud,InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region,AvailabilityZone,SourceCatalog
aws,p5.48xlarge,H100,8.0,192.0,2048.0,98.32,,us-east-1,use1-az1,x
aws,p5.48xlarge,H100,8.0,192.0,2048.0,90.00,,us-east-1,use1-az2,x
aws,p5.4xlarge,H100,1.0,16.0,256.0,12.00,,us-east-1,use1-az2,x
gcp,,A100,1,,,1.70586,1.3974,asia-northeast1,asia-northeast1-a,x
gcp,,tpu-v5p-8,1,,,12.3,,us-east5,us-east5-a,x
gcp,,L4,1,,,,0.2,us-east5,us-east5-a,x
Paperspace,X,H100-SXM,8.0,1,1,47.60,,East Coast (NY2),,x
hyperbolic,1x-H100-75-722,H100,1,75,722,1.29,,default,,x
hyperbolic,3x-H100-224-2165,H100,3,224,2165,3.87,,default,,x
fluidstack,H100_NVLINK_80GB::8,H100-NVLINK,8,252,1440,23.92,,CANADA,,x
shadeform,lambdalabs_H100-sxm5x8,H100,8.0,208.0,1800,31.92,,saltlakecity-usa-1,,x
shadeform,mystery_H100x8,H100,8.0,208.0,1800,30.00,,somewhere-1,,x
lambda,gpu_8x_h100_sxm5,H100,8,208,1800,23.92,,us-east-1,,x
";

    #[test]
    fn one_offer_per_instance_shape_at_its_own_price() {
        let imp = import(CSV, &opts()).unwrap();
        assert_eq!(imp.rows, 13);
        // aws: the 8-GPU p5 at its best AZ (90 / 8), the 1-GPU p5.4xlarge
        // apart at 12 / 1; never the 1-GPU price on an 8-GPU block.
        let p5 = offer(&imp, "aws-us-east-1-h100-x8");
        assert_eq!(p5.price_per_gpu_hour.get(), Decimal::new(1125, 2));
        assert_eq!(p5.block_gpus.get(), 8);
        let p5s = offer(&imp, "aws-us-east-1-h100-x1");
        assert_eq!(p5s.price_per_gpu_hour.get(), Decimal::new(12, 0));
        assert_eq!(p5s.block_gpus.get(), 1);
        // hyperbolic's largest H100 instance is a 3-GPU block: 3.87 / 3.
        let h3 = offer(&imp, "hyperbolic-default-h100-x3");
        assert_eq!(h3.block_gpus.get(), 3);
        assert_eq!(h3.price_per_gpu_hour.get(), Decimal::new(129, 2));
        // Class ids as SkyPilot writes them; aliases fold into one class.
        let ps = offer(&imp, "paperspace-east-coast-ny2-h100-x8");
        assert_eq!(ps.gpu.as_str(), "H100");
        assert_eq!(ps.price_per_gpu_hour.get(), Decimal::new(595, 2));
        // A TPU v5p-8 slice is 4 chips (8 TensorCores): 12.3 / 4 per chip,
        // sold in whole slices.
        let tpu = offer(&imp, "gcp-us-east5-tpu-v5p-x4");
        assert_eq!(tpu.gpu.as_str(), "tpu-v5p");
        assert_eq!(tpu.block_gpus.get(), 4);
        assert_eq!(tpu.price_per_gpu_hour.get(), Decimal::new(3075, 3));
        cascade_core::Ledger::from_scenario(&imp.scenario).unwrap();
    }

    #[test]
    fn skips_are_listed_with_reason_and_cloud() {
        let imp = import(CSV, &opts()).unwrap();
        let nvlink = &imp.skipped[&(SkipReason::Unmapped, "H100-NVLINK".to_string())];
        assert_eq!(nvlink.rows, 1);
        assert!(nvlink.clouds.contains("fluidstack"));
        assert_eq!(
            imp.skipped[&(SkipReason::NoPrice, "L4".to_string())].rows,
            1
        );
        assert_eq!(imp.skipped_rows(), 2);
        assert_eq!(imp.rows_used, 11);
        assert_eq!(imp.clouds_dropped, vec!["fluidstack".to_string()]);
    }

    #[test]
    fn marketplace_rows_are_resales_of_the_named_provider() {
        let imp = import(CSV, &opts()).unwrap();
        let s = &imp.scenario;
        let o = offer(&imp, "shadeform-lambda-saltlakecity-usa-1-h100-x8");
        assert_eq!(o.seller.as_str(), "shadeform");
        let Source::BackedBy(c) = &o.source else {
            panic!("{:?}", o.source)
        };
        let c = s.contracts.iter().find(|x| &x.id == c).unwrap();
        assert_eq!(
            (c.seller.as_str(), c.buyer.as_str()),
            ("lambda", "shadeform")
        );
        assert!(c.resale);
        assert_eq!(c.gpus.get(), 64);
        assert_eq!(c.price_per_gpu_hour.get(), Decimal::new(399, 2));
        let Source::Site(site) = &c.source else {
            panic!()
        };
        let site = s.sites.iter().find(|x| &x.id == site).unwrap();
        assert_eq!(site.owner.as_str(), "lambda");
        assert_eq!(site.region, "saltlakecity-usa-1");
        // The provider's physical exposure sees through the marketplace.
        let ledger = cascade_core::Ledger::from_scenario(s).unwrap();
        drop(ledger);
        assert_eq!(
            imp.resold.get(&("shadeform".into(), "lambda".into())),
            Some(&1)
        );
        // An unknown prefix: sold as shadeform's own, and said so.
        assert_eq!(
            imp.resold_unknown
                .get(&("shadeform".into(), "mystery".into())),
            Some(&1)
        );
        let m = offer(&imp, "shadeform-somewhere-1-h100-x8");
        assert!(matches!(m.source, Source::Site(_)));
    }

    #[test]
    fn accelerator_only_rows_are_flagged() {
        let imp = import(CSV, &opts()).unwrap();
        let flagged: Vec<_> = imp.accelerator_only.iter().map(|i| i.as_str()).collect();
        assert_eq!(
            flagged,
            vec!["gcp-asia-northeast1-a100-x1", "gcp-us-east5-tpu-v5p-x4"]
        );
    }

    #[test]
    fn instance_size_and_capacity_filters() {
        let o = ImportOptions {
            instance_gpus: Some(8),
            ..opts()
        };
        let imp = import(CSV, &o).unwrap();
        assert!(imp.scenario.offers.iter().all(|o| o.block_gpus.get() == 8));
        assert_eq!(
            imp.skipped[&(SkipReason::OtherInstanceSize, "H100".to_string())].rows,
            3
        );
        let o = ImportOptions {
            capacity_gpus: 2,
            ..opts()
        };
        let imp = import(CSV, &o).unwrap();
        assert!(imp.scenario.offers.iter().all(|o| o.block_gpus.get() <= 2));
        assert!(
            imp.skipped
                .contains_key(&(SkipReason::LargerThanCapacity, "H100".to_string()))
        );
    }

    #[test]
    fn per_cloud_files_without_a_cloud_column() {
        let csv = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region,AvailabilityZone\n\
                   gpu_1x_h100_pcie,H100,1,26,200,2.49,,us-east-1,\n";
        let mut im = Importer::new(&opts()).unwrap();
        im.read(csv.as_bytes(), "v8/lambda/vms.csv", Some("lambda"))
            .unwrap();
        im.read(CSV.as_bytes(), "offers.csv", Some("aws")).unwrap();
        let imp = im.finish().unwrap();
        let sellers: BTreeSet<_> = imp
            .scenario
            .offers
            .iter()
            .map(|o| o.seller.as_str())
            .collect();
        assert_eq!(sellers, BTreeSet::from(["aws", "lambda"]));
        assert_eq!(
            imp.skipped[&(SkipReason::OtherCloud, "H100".to_string())].rows,
            5
        );
        // Without --cloud the missing column is named.
        let e = import(csv, &opts()).unwrap_err().to_string();
        assert!(
            e.starts_with("c.csv: the catalog has no column Cloud (needed:"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let bad = "Cloud,AcceleratorName,AcceleratorCount,Price,Region\naws,H100,8,abc,us\n";
        assert_eq!(
            import(bad, &opts()).unwrap_err().to_string(),
            "c.csv:2:4: Price \"abc\" is not a decimal number"
        );
        let bad = "Cloud,AcceleratorName,AcceleratorCount,Price,Region\naws,H100,0,1,us\n";
        assert_eq!(
            import(bad, &opts()).unwrap_err().to_string(),
            "c.csv:2:3: AcceleratorCount \"0\" is not a positive number"
        );
        let bad = "Cloud,AcceleratorName,AcceleratorCount,Price,Region\naws,H100,8\n";
        let e = import(bad, &opts()).unwrap_err().to_string();
        assert!(e.starts_with("c.csv:2:4: "), "{e}");
        // None of the needed columns: all are named.
        let e = import("a,b\n1,2\n", &opts()).unwrap_err();
        assert_eq!(
            e,
            ImportError::MissingColumns {
                file: "c.csv".into(),
                missing: "Cloud, AcceleratorName, AcceleratorCount, Price, Region".into(),
                needed: "Cloud (or --cloud for a per-cloud file), AcceleratorName, AcceleratorCount, Price, Region".into(),
                found: "a, b".into(),
            }
        );
    }

    #[test]
    fn negative_zero_prices_print_as_zero() {
        let csv = "Cloud,AcceleratorName,AcceleratorCount,Price,Region\naws,H100,8,-0.00,us\n";
        let imp = import(csv, &opts()).unwrap();
        let p = imp.scenario.offers[0].price_per_gpu_hour.get();
        assert_eq!(p.to_string(), "0");
    }

    #[test]
    fn every_new_class_imports_without_a_skip() {
        let csv = include_str!("../tests/fixtures/skypilot-every-new-class.csv");
        let o = ImportOptions {
            capacity_gpus: 4096,
            ..opts()
        };
        let imp = import(csv, &o).unwrap();
        assert!(imp.skipped.is_empty(), "{:?}", imp.skipped);
        assert_eq!(imp.rows_used, imp.rows);
        let classes: BTreeSet<_> = imp.scenario.gpus.iter().map(|g| g.id.as_str()).collect();
        for c in [
            "MI250X",
            "MI300X",
            "MI325X",
            "MI350X",
            "MI355X",
            "GB200",
            "GB300",
            "B300",
            "Gaudi2",
            "Gaudi3",
            "RTXPro6000",
            "tpu-v4",
            "tpu-v5e",
            "tpu-v5p",
            "tpu-v6e",
            "tpu-v7",
        ] {
            assert!(classes.contains(c), "{c} missing from {classes:?}");
        }
        // Slices become chips; the per-chip price is the slice price over them.
        let v6e = offer(&imp, "gcp-asia-northeast1-tpu-v6e-x8");
        assert_eq!(v6e.price_per_gpu_hour.get(), Decimal::new(324, 2));
        let v4 = offer(&imp, "gcp-us-central2-tpu-v4-x4");
        assert_eq!(v4.price_per_gpu_hour.get(), Decimal::new(322, 2));
        cascade_core::Ledger::from_scenario(&imp.scenario).unwrap();
    }

    #[test]
    fn ids_are_normalised() {
        assert_eq!(normalise_id("East Coast (NY2)"), "east-coast-ny2");
        assert_eq!(normalise_id("--A100_80GB"), "a100_80gb");
        assert_eq!(normalise_id(&"x".repeat(80)).len(), 64);
        let mut t = HashSet::new();
        assert_eq!(unique("a".into(), &mut t).as_str(), "a");
        assert_eq!(unique("a".into(), &mut t).as_str(), "a-2");
    }

    #[test]
    fn the_default_horizon_is_fixed() {
        let w = default_window();
        assert_eq!(w.start(), Instant::from_date(2027, 1, 1).unwrap());
        assert_eq!(w.end(), Instant::from_date(2028, 1, 1).unwrap());
    }
}
