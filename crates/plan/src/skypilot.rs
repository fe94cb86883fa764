//! Importer for public SkyPilot catalog CSVs (`vms.csv` format).
//!
//! One offer per (cloud, region, GPU class) at the best per-GPU on-demand
//! price of that group (`Price / AcceleratorCount`). The cloud is both seller
//! and physical provider; the region is the site. Catalogs carry no
//! capacity, so the caller says how many GPUs each site has and each offer
//! sells (`capacity_gpus`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use cascade_core::{
    GpuClass, Gpus, Id, Offer, Party, Positive, Scenario, Site, Source, UsdPerGpuHour, Window,
};
use rust_decimal::Decimal;

use crate::h100e;

/// How to turn catalog rows into a scenario.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// GPUs installed per site and class, and offered by each offer.
    pub capacity_gpus: u32,
    /// Block size of every offer.
    pub block_gpus: u32,
    /// Window of every offer.
    pub window: Window,
    /// The scenario's `name`.
    pub name: String,
}

/// A scenario made from a catalog, and what was left out.
#[derive(Clone, Debug)]
pub struct Imported {
    pub scenario: Scenario,
    /// Data rows read.
    pub rows: usize,
    /// Rows that went into some offer's best price.
    pub rows_used: usize,
    /// Rows without an on-demand price.
    pub rows_without_price: usize,
    /// Accelerator names not in the h100e table, with their row counts.
    pub unmapped: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error(
        "the CSV has no column {0:?} (a SkyPilot catalog has Cloud, AcceleratorName, AcceleratorCount, Price, Region)"
    )]
    MissingColumn(&'static str),
    #[error("line {line}: column {column}: {value:?} is not {what}")]
    BadValue {
        line: u64,
        column: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("--capacity-gpus must be at least the block size ({block} GPUs), got {capacity}")]
    CapacityBelowBlock { capacity: u32, block: u32 },
    #[error("{0} must be positive")]
    NotPositive(&'static str),
    #[error(
        "no row could be imported ({rows} rows read, {without_price} without a price, unmapped accelerators: {unmapped})"
    )]
    Empty {
        rows: usize,
        without_price: usize,
        unmapped: String,
    },
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

struct Best {
    cloud: String,
    region: String,
    class: &'static h100e::GpuSpec,
    price: Decimal,
}

/// Reads a SkyPilot catalog CSV and builds a scenario: GPU classes, one
/// party per cloud, one site per cloud/region, one offer per
/// cloud/region/class. Errors carry the CSV line number.
pub fn import_skypilot<R: std::io::Read>(
    reader: R,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    if options.block_gpus == 0 {
        return Err(ImportError::NotPositive("--block-gpus"));
    }
    if options.capacity_gpus < options.block_gpus {
        return Err(ImportError::CapacityBelowBlock {
            capacity: options.capacity_gpus,
            block: options.block_gpus,
        });
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| ImportError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let col = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(ImportError::MissingColumn(name))
    };
    let (c_cloud, c_acc, c_count, c_price, c_region) = (
        col("Cloud")?,
        col("AcceleratorName")?,
        col("AcceleratorCount")?,
        col("Price")?,
        col("Region")?,
    );

    let mut best: Vec<Best> = Vec::new();
    let mut index: HashMap<(String, String, &'static str), usize> = HashMap::new();
    let (mut rows, mut used, mut without_price) = (0usize, 0usize, 0usize);
    let mut unmapped: BTreeMap<String, usize> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = rdr.read_record(&mut record).map_err(|e| ImportError::Csv {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        if !more {
            break;
        }
        rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        let get = |i: usize| record.get(i).unwrap_or("").trim();
        let acc = get(c_acc);
        let Some(spec) = h100e::lookup(acc) else {
            *unmapped
                .entry(if acc.is_empty() {
                    "(empty)".into()
                } else {
                    acc.to_string()
                })
                .or_default() += 1;
            continue;
        };
        let price = get(c_price);
        if price.is_empty() {
            without_price += 1;
            continue;
        }
        let bad = |column: &'static str, value: &str, what: &'static str| ImportError::BadValue {
            line,
            column,
            value: value.to_string(),
            what,
        };
        let price_d = Decimal::from_str(price)
            .or_else(|_| Decimal::from_scientific(price))
            .map_err(|_| bad("Price", price, "a decimal number"))?;
        if price_d.is_sign_negative() && !price_d.is_zero() {
            return Err(bad("Price", price, "a price ≥ 0"));
        }
        let count = get(c_count);
        let count_d = Decimal::from_str(count)
            .ok()
            .filter(|c| *c > Decimal::ZERO)
            .ok_or_else(|| bad("AcceleratorCount", count, "a positive number"))?;
        let cloud = get(c_cloud);
        if cloud.is_empty() {
            return Err(bad("Cloud", cloud, "a cloud name"));
        }
        let region = get(c_region);
        if region.is_empty() {
            return Err(bad("Region", region, "a region name"));
        }
        let mut per_gpu = (price_d / count_d).normalize();
        if per_gpu.scale() > 8 {
            per_gpu = per_gpu.round_dp(8).normalize();
        }
        used += 1;
        let key = (cloud.to_string(), region.to_string(), spec.class);
        match index.get(&key) {
            Some(&i) => {
                if per_gpu < best[i].price {
                    best[i].price = per_gpu;
                }
            }
            None => {
                index.insert(key, best.len());
                best.push(Best {
                    cloud: cloud.to_string(),
                    region: region.to_string(),
                    class: spec,
                    price: per_gpu,
                });
            }
        }
    }
    if best.is_empty() {
        return Err(ImportError::Empty {
            rows,
            without_price,
            unmapped: unmapped
                .iter()
                .map(|(k, v)| format!("{k} ({v})"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }

    // Deterministic order: cloud, region, class.
    best.sort_by(|a, b| {
        (a.cloud.as_str(), a.region.as_str(), a.class.class).cmp(&(
            b.cloud.as_str(),
            b.region.as_str(),
            b.class.class,
        ))
    });
    let capacity =
        Gpus::new("capacity_gpus", i64::from(options.capacity_gpus)).expect("checked above");
    let block = Gpus::new("block_gpus", i64::from(options.block_gpus)).expect("checked above");

    let mut s = Scenario {
        name: options.name.clone(),
        ..Scenario::default()
    };
    let mut classes: Vec<&'static h100e::GpuSpec> = best.iter().map(|b| b.class).collect();
    classes.sort_by(|a, b| a.class.cmp(b.class));
    classes.dedup_by(|a, b| a.class == b.class);
    for c in &classes {
        s.gpus.push(GpuClass {
            id: Id::new(c.class).expect("table ids are valid"),
            h100e: Positive::new("h100e", c.h100e).expect("table h100e > 0"),
            watts: Positive::new("watts", c.watts).expect("table watts > 0"),
        });
    }
    let mut party_ids: HashMap<&str, Id> = HashMap::new();
    let mut taken_parties = HashSet::new();
    for b in &best {
        if !party_ids.contains_key(b.cloud.as_str()) {
            let pid = unique(normalise_id(&b.cloud), &mut taken_parties);
            s.parties.push(Party {
                id: pid.clone(),
                name: Some(b.cloud.clone()),
            });
            party_ids.insert(&b.cloud, pid);
        }
    }
    let mut site_ids: HashMap<(&str, &str), usize> = HashMap::new();
    let mut taken_sites = HashSet::new();
    let mut taken_offers = HashSet::new();
    for b in &best {
        let owner = party_ids[b.cloud.as_str()].clone();
        let class = Id::new(b.class.class).expect("table ids are valid");
        let si = match site_ids.get(&(b.cloud.as_str(), b.region.as_str())) {
            Some(&i) => i,
            None => {
                let sid = unique(
                    normalise_id(&format!("{}-{}", owner, b.region)),
                    &mut taken_sites,
                );
                s.sites.push(Site {
                    id: sid,
                    owner: owner.clone(),
                    region: b.region.clone(),
                    power_mw: None,
                    gpus: Vec::new(),
                });
                site_ids.insert((&b.cloud, &b.region), s.sites.len() - 1);
                s.sites.len() - 1
            }
        };
        s.sites[si].gpus.push((class.clone(), capacity));
        let site_id = s.sites[si].id.clone();
        let oid = unique(
            normalise_id(&format!("{}-{}", site_id, class)),
            &mut taken_offers,
        );
        s.offers.push(Offer {
            id: oid,
            seller: owner,
            gpu: class,
            max_gpus: capacity,
            block_gpus: block,
            window: options.window,
            price_per_gpu_hour: UsdPerGpuHour::new("price_per_gpu_hour", b.price)
                .expect("checked ≥ 0"),
            source: Source::Site(site_id),
        });
    }
    for site in &mut s.sites {
        site.gpus.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(Imported {
        scenario: s,
        rows,
        rows_used: used,
        rows_without_price: without_price,
        unmapped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_core::Instant;

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
            block_gpus: 8,
            window: window(),
            name: "t".into(),
        }
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
";

    #[test]
    fn best_price_per_cloud_region_class() {
        let imp = import_skypilot(CSV.as_bytes(), &opts()).unwrap();
        assert_eq!(imp.rows, 7);
        assert_eq!(imp.rows_without_price, 1);
        assert_eq!(imp.unmapped.get("tpu-v5p-8"), Some(&1));
        let s = &imp.scenario;
        assert_eq!(s.offers.len(), 3);
        let aws = s
            .offers
            .iter()
            .find(|o| o.seller.as_str() == "aws")
            .unwrap();
        assert_eq!(aws.price_per_gpu_hour.get(), Decimal::new(1125, 2));
        assert_eq!(aws.id.as_str(), "aws-us-east-1-h100");
        let ps = s
            .offers
            .iter()
            .find(|o| o.seller.as_str() == "paperspace")
            .unwrap();
        assert_eq!(ps.id.as_str(), "paperspace-east-coast-ny2-h100");
        assert_eq!(ps.price_per_gpu_hour.get(), Decimal::new(595, 2));
        // The result is a valid scenario.
        cascade_core::Ledger::from_scenario(s).unwrap();
    }

    #[test]
    fn errors_name_the_line() {
        let bad = "Cloud,AcceleratorName,AcceleratorCount,Price,Region\naws,H100,8,abc,us\n";
        let e = import_skypilot(bad.as_bytes(), &opts()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: column Price: \"abc\" is not a decimal number"
        );
        let bad = "Cloud,AcceleratorName,Price,Region\naws,H100,1,us\n";
        assert_eq!(
            import_skypilot(bad.as_bytes(), &opts()).unwrap_err(),
            ImportError::MissingColumn("AcceleratorCount")
        );
        let bad = "Cloud,AcceleratorName,AcceleratorCount,Price,Region\naws,H100,0,1,us\n";
        assert!(
            import_skypilot(bad.as_bytes(), &opts())
                .unwrap_err()
                .to_string()
                .starts_with("line 2: column AcceleratorCount")
        );
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
}
