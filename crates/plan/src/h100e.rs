//! The H100-equivalent table: SkyPilot accelerator names → Cascade GPU
//! classes, with throughput relative to one H100 SXM.
//!
//! Metric: peak **dense** (no 2:4 sparsity) BF16 matrix TFLOPS from the
//! vendors' datasheets (NVIDIA, AMD, Intel, Google); FP16 Tensor where the
//! part has no BF16 (Volta, Turing); FP32 for Pascal parts without tensor
//! cores. `h100e` is that figure over the H100 SXM's 989.4 TFLOPS, rounded
//! to 4 places. Where a datasheet quotes only the sparse figure it is
//! halved; where it quotes only FP8 or FP4, the source says how the dense
//! BF16 figure follows. Watts are the board power (TDP / max power) from
//! the same datasheet; for Grace superchips the CPU's share is included.
//!
//! TPUs are listed per chip; a SkyPilot TPU name is a slice
//! (`tpu-v5p-16`), turned into chips by its generation's [`SliceRule`].
//!
//! `docs/h100e.md` is this table with the source of each row; a test keeps
//! the two in step.

/// One GPU class of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuSpec {
    /// Cascade GPU class id, as SkyPilot writes the accelerator (`H100`,
    /// `A100-80GB`); TPUs per generation (`tpu-v5p`).
    pub class: &'static str,
    /// SkyPilot `AcceleratorName`s mapped to this class (for TPUs, the
    /// slice name patterns, for the docs).
    pub names: &'static [&'static str],
    /// Dense TFLOPS of the metric named in `metric`.
    pub tflops: f64,
    pub metric: &'static str,
    /// tflops / 989.4, rounded to 4 places.
    pub h100e: f64,
    pub watts: f64,
    /// Where the figures come from.
    pub source: &'static str,
    /// TPU generations: how a slice name gives its chip count.
    pub slice: Option<SliceRule>,
}

/// Google's naming of a TPU generation's slices: `<prefix><N>`, where N
/// counts TensorCores (v2, v3, v4, v5p: two per chip) or chips (v5e, v6e).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SliceRule {
    /// Name prefixes, lowercase, up to and including the last `-`.
    pub prefixes: &'static [&'static str],
    /// TensorCores counted per chip by N (1 when N counts chips).
    pub cores_per_chip: u32,
}

/// What an accelerator name means: a class, and how many of its
/// chips one catalog "accelerator" is (1 for a GPU, the slice's chips for
/// a TPU slice).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accelerator {
    pub spec: &'static GpuSpec,
    pub chips: u32,
}

/// Dense BF16 Tensor TFLOPS of one H100 SXM: the unit of H100e.
pub const H100_SXM_BF16_DENSE: f64 = 989.4;

const BF16: &str = "BF16 Tensor, dense";
const FP16: &str = "FP16 Tensor, dense";
const FP32: &str = "FP32";

/// The table: GPUs, then TPU generations per chip.
pub const TABLE: &[GpuSpec] = &[
    GpuSpec {
        class: "GB300",
        names: &["GB300"],
        tflops: 2500.0,
        metric: BF16,
        h100e: 2.5268,
        watts: 1550.0,
        source: "NVIDIA GB300 NVL72 datasheet: 360 PFLOPS FP16/BF16 with sparsity per 72 Blackwell Ultra GPUs (2.5 PFLOPS dense per GPU); 1,400 W per GPU plus half of the Grace CPU share of a superchip (150 W, taken from GB200: 2,700 W − 2 × 1,200 W = 300 W per Grace), 1,550 W",
        slice: None,
    },
    GpuSpec {
        class: "GB200",
        names: &["GB200"],
        tflops: 2500.0,
        metric: BF16,
        h100e: 2.5268,
        watts: 1350.0,
        source: "NVIDIA GB200 NVL72 datasheet: 360 PFLOPS FP16/BF16 with sparsity per 72 Blackwell GPUs, 10 PFLOPS per GB200 superchip (2.5 PFLOPS dense per GPU); superchip (1 Grace + 2 Blackwell) up to 2,700 W, counted half per GPU with the Grace CPU share included: 1,350 W",
        slice: None,
    },
    GpuSpec {
        class: "MI355X",
        names: &["MI355X"],
        tflops: 2516.6,
        metric: BF16,
        h100e: 2.5436,
        watts: 1400.0,
        source: "AMD Instinct MI355X datasheet: 2,516.6 TFLOPS BF16 dense (5,033.2 with sparsity; 256 CUs at 2.4 GHz), 1,400 W TBP",
        slice: None,
    },
    GpuSpec {
        class: "MI350X",
        names: &["MI350X"],
        tflops: 2306.9,
        metric: BF16,
        h100e: 2.3316,
        watts: 1000.0,
        source: "AMD Instinct MI350X datasheet: 2,306.9 TFLOPS BF16 dense (4,613.7 with sparsity; 256 CUs at 2.2 GHz), 1,000 W TBP",
        slice: None,
    },
    GpuSpec {
        class: "Gaudi3",
        names: &["Gaudi3", "HL-325L"],
        tflops: 1835.0,
        metric: BF16,
        h100e: 1.8547,
        watts: 900.0,
        source: "Intel Gaudi 3 AI accelerator white paper: 1,835 TFLOPS BF16 matrix (no sparsity figure), HL-325L OAM 900 W (air-cooled)",
        slice: None,
    },
    GpuSpec {
        class: "MI325X",
        names: &["MI325X"],
        tflops: 1307.4,
        metric: BF16,
        h100e: 1.3214,
        watts: 1000.0,
        source: "AMD Instinct MI325X datasheet: 1,307.4 TFLOPS BF16 dense (2,614.9 with sparsity), 1,000 W TBP",
        slice: None,
    },
    GpuSpec {
        class: "MI300X",
        names: &["MI300X"],
        tflops: 1307.4,
        metric: BF16,
        h100e: 1.3214,
        watts: 750.0,
        source: "AMD Instinct MI300X datasheet: 1,307.4 TFLOPS BF16 dense (2,614.9 with sparsity), 750 W TBP",
        slice: None,
    },
    GpuSpec {
        class: "RTXPro6000",
        names: &["RTXPro6000", "RTX-PRO-6000", "RTXPRO6000-Blackwell"],
        tflops: 503.8,
        metric: BF16,
        h100e: 0.5092,
        watts: 600.0,
        source: "NVIDIA RTX Blackwell GPU architecture whitepaper (RTX PRO 6000 Blackwell: 503.8 TFLOPS FP16/BF16 Tensor with FP32 accumulate, dense); the datasheet prints only 4,000 AI TOPS (FP4 with sparsity), which is 8 × the dense BF16 rate (≈500). 600 W",
        slice: None,
    },
    GpuSpec {
        class: "Gaudi2",
        names: &["Gaudi2", "HL-225"],
        tflops: 432.0,
        metric: BF16,
        h100e: 0.4366,
        watts: 600.0,
        source: "Intel Gaudi 3 AI accelerator white paper, generations table: Gaudi 2 432 TFLOPS BF16 (no sparsity figure), OAM 600 W",
        slice: None,
    },
    GpuSpec {
        class: "MI250X",
        names: &["MI250X"],
        tflops: 383.0,
        metric: BF16,
        h100e: 0.3871,
        watts: 560.0,
        source: "AMD Instinct MI250X datasheet: 383.0 TFLOPS BF16 (CDNA 2 has no sparsity; 220 CUs at 1.7 GHz), 500 W TBP, 560 W peak",
        slice: None,
    },
    GpuSpec {
        class: "B200",
        names: &["B200"],
        tflops: 2250.0,
        metric: BF16,
        h100e: 2.2741,
        watts: 1000.0,
        source: "NVIDIA HGX B200 datasheet: 36 PFLOPS FP16/BF16 with sparsity per 8 GPUs (2.25 PFLOPS dense per GPU), 1,000 W",
        slice: None,
    },
    GpuSpec {
        class: "B300",
        names: &["B300"],
        tflops: 2250.0,
        metric: BF16,
        h100e: 2.2741,
        watts: 1100.0,
        source: "NVIDIA HGX B300 datasheet: 36 PFLOPS FP16/BF16 with sparsity per 8 GPUs (2.25 PFLOPS dense per GPU); 1,100 W per GPU",
        slice: None,
    },
    GpuSpec {
        class: "H100",
        names: &["H100", "H100-SXM", "H100-MEGA"],
        tflops: 989.4,
        metric: BF16,
        h100e: 1.0,
        watts: 700.0,
        source: "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM: 1,979 TFLOPS BF16 with sparsity, 700 W",
        slice: None,
    },
    GpuSpec {
        class: "H200",
        names: &["H200"],
        tflops: 989.4,
        metric: BF16,
        h100e: 1.0,
        watts: 700.0,
        source: "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM: 1,979 TFLOPS BF16 with sparsity, 700 W",
        slice: None,
    },
    GpuSpec {
        class: "GH200",
        names: &["GH200"],
        tflops: 989.4,
        metric: BF16,
        h100e: 1.0,
        watts: 1000.0,
        source: "NVIDIA GH200 Grace Hopper Superchip datasheet: 1,979 TFLOPS BF16 with sparsity; module power up to 1,000 W (CPU + GPU)",
        slice: None,
    },
    GpuSpec {
        class: "RTX6000-Ada",
        names: &["RTX6000-Ada", "RTX6000Ada"],
        tflops: 364.2,
        metric: BF16,
        h100e: 0.3681,
        watts: 300.0,
        source: "NVIDIA Ada Lovelace GPU architecture whitepaper, appendix (RTX 6000 Ada: 364.2 TFLOPS BF16 dense), RTX 6000 Ada datasheet: 300 W",
        slice: None,
    },
    GpuSpec {
        class: "L40S",
        names: &["L40S"],
        tflops: 362.05,
        metric: BF16,
        h100e: 0.3659,
        watts: 350.0,
        source: "NVIDIA L40S datasheet: 362.05 TFLOPS BF16 (733 with sparsity), 350 W",
        slice: None,
    },
    GpuSpec {
        class: "A100-80GB",
        names: &["A100-80GB", "A100-80GB-SXM"],
        tflops: 312.0,
        metric: BF16,
        h100e: 0.3153,
        watts: 400.0,
        source: "NVIDIA A100 Tensor Core GPU datasheet: 312 TFLOPS BF16 (624 with sparsity), A100 80GB SXM 400 W",
        slice: None,
    },
    GpuSpec {
        class: "A100",
        names: &["A100"],
        tflops: 312.0,
        metric: BF16,
        h100e: 0.3153,
        watts: 400.0,
        source: "NVIDIA A100 Tensor Core GPU datasheet: 312 TFLOPS BF16 (624 with sparsity), A100 40GB SXM 400 W",
        slice: None,
    },
    GpuSpec {
        class: "A800",
        names: &["A800"],
        tflops: 312.0,
        metric: BF16,
        h100e: 0.3153,
        watts: 400.0,
        source: "NVIDIA A800 datasheet: 312 TFLOPS BF16 (624 with sparsity), SXM 400 W",
        slice: None,
    },
    GpuSpec {
        class: "L40",
        names: &["L40"],
        tflops: 181.05,
        metric: BF16,
        h100e: 0.183,
        watts: 300.0,
        source: "NVIDIA L40 datasheet: 181.05 TFLOPS BF16 (362.1 with sparsity), 300 W",
        slice: None,
    },
    GpuSpec {
        class: "RTX4090",
        names: &["RTX4090"],
        tflops: 165.2,
        metric: "BF16 Tensor with FP32 accumulate, dense",
        h100e: 0.167,
        watts: 450.0,
        source: "NVIDIA Ada Lovelace GPU architecture whitepaper, appendix (GeForce RTX 4090: 165.2 TFLOPS BF16 with FP32 accumulate), 450 W",
        slice: None,
    },
    GpuSpec {
        class: "A6000",
        names: &["A6000", "RTXA6000"],
        tflops: 154.8,
        metric: BF16,
        h100e: 0.1565,
        watts: 300.0,
        source: "NVIDIA RTX A6000 datasheet: 309.7 Tensor TFLOPS with sparsity, 300 W",
        slice: None,
    },
    GpuSpec {
        class: "A40",
        names: &["A40"],
        tflops: 149.7,
        metric: BF16,
        h100e: 0.1513,
        watts: 300.0,
        source: "NVIDIA A40 datasheet: 149.7 TFLOPS BF16 (299.4 with sparsity), 300 W",
        slice: None,
    },
    GpuSpec {
        class: "RTX6000",
        names: &["RTX6000"],
        tflops: 130.5,
        metric: FP16,
        h100e: 0.1319,
        watts: 295.0,
        source: "NVIDIA Quadro RTX 6000 datasheet: 130.5 Tensor TFLOPS (FP16, Turing has no BF16), 295 W",
        slice: None,
    },
    GpuSpec {
        class: "V100",
        names: &["V100", "V100-32GB"],
        tflops: 125.0,
        metric: FP16,
        h100e: 0.1263,
        watts: 300.0,
        source: "NVIDIA Tesla V100 datasheet: 125 Tensor TFLOPS (FP16, Volta has no BF16), SXM2 300 W",
        slice: None,
    },
    GpuSpec {
        class: "A10",
        names: &["A10"],
        tflops: 125.0,
        metric: BF16,
        h100e: 0.1263,
        watts: 150.0,
        source: "NVIDIA A10 datasheet: 125 TFLOPS BF16 (250 with sparsity), 150 W",
        slice: None,
    },
    GpuSpec {
        class: "L4",
        names: &["L4"],
        tflops: 121.0,
        metric: BF16,
        h100e: 0.1223,
        watts: 72.0,
        source: "NVIDIA L4 datasheet: 242 TFLOPS BF16 with sparsity, 72 W",
        slice: None,
    },
    GpuSpec {
        class: "RTXA5000",
        names: &["RTXA5000", "A5000"],
        tflops: 111.1,
        metric: BF16,
        h100e: 0.1123,
        watts: 230.0,
        source: "NVIDIA RTX A5000 datasheet: 222.2 Tensor TFLOPS with sparsity, 230 W",
        slice: None,
    },
    GpuSpec {
        class: "RTXA4500",
        names: &["RTXA4500"],
        tflops: 94.6,
        metric: BF16,
        h100e: 0.0956,
        watts: 200.0,
        source: "NVIDIA RTX A4500 datasheet: 189.2 Tensor TFLOPS with sparsity, 200 W",
        slice: None,
    },
    GpuSpec {
        class: "RTX4000-Ada",
        names: &["RTX4000-Ada"],
        tflops: 81.9,
        metric: BF16,
        h100e: 0.0828,
        watts: 130.0,
        source: "NVIDIA RTX 4000 Ada datasheet: 327.6 Tensor TFLOPS (FP8 with sparsity; BF16 dense is a quarter), 130 W",
        slice: None,
    },
    GpuSpec {
        class: "RTXA4000",
        names: &["RTXA4000", "A4000"],
        tflops: 76.7,
        metric: BF16,
        h100e: 0.0775,
        watts: 140.0,
        source: "NVIDIA RTX A4000 datasheet: 153.4 Tensor TFLOPS with sparsity, 140 W",
        slice: None,
    },
    GpuSpec {
        class: "RTX3090",
        names: &["RTX3090"],
        tflops: 71.0,
        metric: "BF16 Tensor with FP32 accumulate, dense",
        h100e: 0.0718,
        watts: 350.0,
        source: "NVIDIA Ampere GA102 GPU architecture whitepaper (GeForce RTX 3090: 71 TFLOPS FP16/BF16 Tensor with FP32 accumulate), 350 W",
        slice: None,
    },
    GpuSpec {
        class: "T4",
        names: &["T4"],
        tflops: 65.0,
        metric: FP16,
        h100e: 0.0657,
        watts: 70.0,
        source: "NVIDIA T4 datasheet: 65 TFLOPS mixed precision (FP16/FP32), 70 W",
        slice: None,
    },
    GpuSpec {
        class: "P100",
        names: &["P100"],
        tflops: 18.7,
        metric: "FP16 (no tensor cores)",
        h100e: 0.0189,
        watts: 250.0,
        source: "NVIDIA Tesla P100 datasheet: 18.7 TFLOPS FP16 (PCIe), 250 W",
        slice: None,
    },
    GpuSpec {
        class: "P4",
        names: &["P4"],
        tflops: 5.5,
        metric: FP32,
        h100e: 0.0056,
        watts: 75.0,
        source: "NVIDIA Tesla P4 datasheet: 5.5 TFLOPS FP32 (no fast FP16), 75 W",
        slice: None,
    },
    GpuSpec {
        class: "tpu-v7",
        names: &["tpu7x-*", "tpu-v7-*", "tpu-v7x-*"],
        tflops: 2307.0,
        metric: BF16,
        h100e: 2.3317,
        watts: 700.0,
        source: "Google Cloud TPU7x (Ironwood) page: 2,307 TFLOPS BF16 per chip (4,614 FP8), two TensorCores per chip. Google publishes no per-chip power; watts is a stand-in of 700 W (an H100), so only a site power limit written by hand uses it",
        slice: Some(SliceRule {
            prefixes: &["tpu-v7-", "tpu7x-", "tpu-v7x-"],
            cores_per_chip: 2,
        }),
    },
    GpuSpec {
        class: "tpu-v6e",
        names: &["tpu-v6e-*"],
        tflops: 918.0,
        metric: BF16,
        h100e: 0.9278,
        watts: 700.0,
        source: "Google Cloud TPU v6e (Trillium) page: 918 TFLOPS BF16 per chip. Google publishes no per-chip power; watts is a stand-in of 700 W (an H100), so only a site power limit written by hand uses it",
        slice: Some(SliceRule {
            prefixes: &["tpu-v6e-"],
            cores_per_chip: 1,
        }),
    },
    GpuSpec {
        class: "tpu-v5p",
        names: &["tpu-v5p-*"],
        tflops: 459.0,
        metric: BF16,
        h100e: 0.4639,
        watts: 700.0,
        source: "Google Cloud TPU v5p page: 459 TFLOPS BF16 per chip. Google publishes no per-chip power; watts is a stand-in of 700 W (an H100), so only a site power limit written by hand uses it",
        slice: Some(SliceRule {
            prefixes: &["tpu-v5p-"],
            cores_per_chip: 2,
        }),
    },
    GpuSpec {
        class: "tpu-v4",
        names: &["tpu-v4-*"],
        tflops: 275.0,
        metric: BF16,
        h100e: 0.2779,
        watts: 700.0,
        source: "Google Cloud TPU v4 page: 275 TFLOPS BF16 per chip. Google publishes no per-chip power; watts is a stand-in of 700 W (an H100), so only a site power limit written by hand uses it",
        slice: Some(SliceRule {
            prefixes: &["tpu-v4-"],
            cores_per_chip: 2,
        }),
    },
    GpuSpec {
        class: "tpu-v5e",
        names: &["tpu-v5litepod-*", "tpu-v5e-*"],
        tflops: 197.0,
        metric: BF16,
        h100e: 0.1991,
        watts: 700.0,
        source: "Google Cloud TPU v5e page: 197 TFLOPS BF16 per chip. Google publishes no per-chip power; watts is a stand-in of 700 W (an H100), so only a site power limit written by hand uses it",
        slice: Some(SliceRule {
            prefixes: &["tpu-v5litepod-", "tpu-v5e-"],
            cores_per_chip: 1,
        }),
    },
];

/// The GPU class a SkyPilot accelerator name maps to (exact name, then
/// ASCII case-insensitive), or `None` for names not in the table. TPU
/// slices are resolved by [`resolve`].
pub fn lookup(accelerator: &str) -> Option<&'static GpuSpec> {
    let gpus = || TABLE.iter().filter(|g| g.slice.is_none());
    gpus()
        .find(|g| g.names.contains(&accelerator))
        .or_else(|| gpus().find(|g| g.names.iter().any(|n| n.eq_ignore_ascii_case(accelerator))))
}

/// The chips of a TPU slice name (`tpu-v5p-16` → tpu-v5p, 8 chips), by its
/// generation's naming rule. `None` when no generation's prefix matches, or
/// the count is not a positive whole number of chips (`tpu-v5p-7`).
pub fn tpu_slice(name: &str) -> Option<Accelerator> {
    let lower = name.to_ascii_lowercase();
    TABLE.iter().find_map(|spec| {
        let rule = spec.slice?;
        let n = rule.prefixes.iter().find_map(|p| lower.strip_prefix(p))?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = n.parse().ok()?;
        (n > 0 && n.is_multiple_of(rule.cores_per_chip)).then_some(Accelerator {
            spec,
            chips: n / rule.cores_per_chip,
        })
    })
}

/// A catalog accelerator name: a GPU class (1 chip each) or a TPU slice.
pub fn resolve(accelerator: &str) -> Option<Accelerator> {
    lookup(accelerator)
        .map(|spec| Accelerator { spec, chips: 1 })
        .or_else(|| tpu_slice(accelerator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_follow_the_metric() {
        for g in TABLE {
            let r = g.tflops / H100_SXM_BF16_DENSE;
            assert!(
                (r - g.h100e).abs() < 1e-4,
                "{}: {} vs {}",
                g.class,
                r,
                g.h100e
            );
            assert!(cascade_core::Id::new_gpu_class(g.class).is_ok());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for g in TABLE {
            assert!(
                seen.insert(g.class.to_ascii_lowercase()),
                "{} twice",
                g.class
            );
            for n in g.names {
                if !n.eq_ignore_ascii_case(g.class) {
                    assert!(seen.insert(n.to_ascii_lowercase()), "{n} twice");
                }
            }
        }
    }

    #[test]
    fn docs_list_every_class() {
        let doc = include_str!("../../../docs/h100e.md");
        for g in TABLE {
            let needle = format!("| `{}` |", g.class);
            assert!(doc.contains(&needle), "docs/h100e.md lacks {needle}");
            assert!(
                doc.contains(&format!("| {} |", g.h100e)),
                "docs/h100e.md lacks h100e {} of {}",
                g.h100e,
                g.class
            );
        }
    }

    /// A new class: its SkyPilot name resolves to it, its TFLOPS is the
    /// figure its source cites (`cited` is quoted from the source text),
    /// and its h100e is that figure over the H100's, to 4 places.
    fn check(name: &str, class: &str, dense_tflops: f64, cited: &str, watts: f64) {
        let a = resolve(name).unwrap_or_else(|| panic!("{name} unmapped"));
        let g = a.spec;
        assert_eq!(g.class, class);
        assert_eq!(g.tflops, dense_tflops, "{class}");
        assert!(g.source.contains(cited), "{class}: source lacks {cited:?}");
        assert_eq!(g.watts, watts, "{class}");
        let expect = (dense_tflops / 989.4 * 1e4).round() / 1e4;
        assert_eq!(g.h100e, expect, "{class}");
    }

    #[test]
    fn mi250x() {
        check("MI250X", "MI250X", 383.0, "383.0 TFLOPS BF16", 560.0);
    }
    #[test]
    fn mi300x() {
        check(
            "MI300X",
            "MI300X",
            1307.4,
            "1,307.4 TFLOPS BF16 dense",
            750.0,
        );
    }
    #[test]
    fn mi325x() {
        check(
            "mi325x",
            "MI325X",
            1307.4,
            "1,307.4 TFLOPS BF16 dense",
            1000.0,
        );
    }
    #[test]
    fn mi350x() {
        check(
            "MI350X",
            "MI350X",
            2306.9,
            "2,306.9 TFLOPS BF16 dense",
            1000.0,
        );
    }
    #[test]
    fn mi355x() {
        check(
            "MI355X",
            "MI355X",
            2516.6,
            "2,516.6 TFLOPS BF16 dense",
            1400.0,
        );
    }
    #[test]
    fn gb200_per_blackwell_gpu() {
        // 360 PFLOPS sparse / 72 GPUs / 2 = 2.5 PFLOPS dense per GPU.
        assert_eq!(360_000.0 / 72.0 / 2.0, 2500.0);
        check(
            "GB200",
            "GB200",
            2500.0,
            "360 PFLOPS FP16/BF16 with sparsity per 72",
            1350.0,
        );
    }
    #[test]
    fn gb300_per_blackwell_ultra_gpu() {
        check(
            "GB300",
            "GB300",
            2500.0,
            "360 PFLOPS FP16/BF16 with sparsity per 72",
            1550.0,
        );
    }
    #[test]
    fn b300_rechecked() {
        // 36 PFLOPS sparse / 8 GPUs / 2 = 2.25 PFLOPS dense: the HGX B300's
        // BF16 rate equals the B200's; Blackwell Ultra's gain is FP4.
        assert_eq!(36_000.0 / 8.0 / 2.0, 2250.0);
        check(
            "B300",
            "B300",
            2250.0,
            "36 PFLOPS FP16/BF16 with sparsity per 8 GPUs",
            1100.0,
        );
    }
    #[test]
    fn gaudi2() {
        check("GAUDI2", "Gaudi2", 432.0, "432 TFLOPS BF16", 600.0);
    }
    #[test]
    fn gaudi3() {
        check("Gaudi3", "Gaudi3", 1835.0, "1,835 TFLOPS BF16", 900.0);
    }
    #[test]
    fn rtx_pro_6000_blackwell() {
        check("RTXPro6000", "RTXPro6000", 503.8, "503.8 TFLOPS", 600.0);
    }
    #[test]
    fn tpu_v4() {
        check(
            "tpu-v4-8",
            "tpu-v4",
            275.0,
            "275 TFLOPS BF16 per chip",
            700.0,
        );
    }
    #[test]
    fn tpu_v5e() {
        check(
            "tpu-v5litepod-8",
            "tpu-v5e",
            197.0,
            "197 TFLOPS BF16 per chip",
            700.0,
        );
    }
    #[test]
    fn tpu_v5p() {
        check(
            "tpu-v5p-8",
            "tpu-v5p",
            459.0,
            "459 TFLOPS BF16 per chip",
            700.0,
        );
    }
    #[test]
    fn tpu_v6e() {
        check(
            "tpu-v6e-8",
            "tpu-v6e",
            918.0,
            "918 TFLOPS BF16 per chip",
            700.0,
        );
    }
    #[test]
    fn tpu_v7() {
        // Google prints FP8 4,614 and BF16 2,307: BF16 is half the FP8 rate.
        check(
            "tpu7x-8",
            "tpu-v7",
            2307.0,
            "2,307 TFLOPS BF16 per chip",
            700.0,
        );
    }

    fn chips(name: &str) -> Option<(&'static str, u32)> {
        tpu_slice(name).map(|a| (a.spec.class, a.chips))
    }

    #[test]
    fn slice_names_count_tensorcores_for_v4_v5p_v7() {
        // Google: "v5p-32 specifies a v5p slice with 32 TensorCores (16 chips)".
        assert_eq!(chips("tpu-v5p-8"), Some(("tpu-v5p", 4)));
        assert_eq!(chips("tpu-v5p-12288"), Some(("tpu-v5p", 6144)));
        assert_eq!(chips("tpu-v4-8"), Some(("tpu-v4", 4)));
        assert_eq!(chips("tpu-v4-6144"), Some(("tpu-v4", 3072)));
        assert_eq!(chips("tpu7x-8"), Some(("tpu-v7", 4)));
        assert_eq!(chips("tpu-v7-128"), Some(("tpu-v7", 64)));
        // An odd TensorCore count is no whole number of chips.
        assert_eq!(chips("tpu-v5p-7"), None);
    }

    #[test]
    fn slice_names_count_chips_for_v5e_v6e() {
        assert_eq!(chips("tpu-v5litepod-1"), Some(("tpu-v5e", 1)));
        assert_eq!(chips("tpu-v5litepod-256"), Some(("tpu-v5e", 256)));
        assert_eq!(chips("tpu-v5e-16"), Some(("tpu-v5e", 16)));
        assert_eq!(chips("tpu-v6e-8"), Some(("tpu-v6e", 8)));
        assert_eq!(chips("TPU-V6E-4"), Some(("tpu-v6e", 4)));
    }

    #[test]
    fn not_slices() {
        for n in [
            "tpu-v6e-",
            "tpu-v6e-x8",
            "tpu-v6e-0",
            "tpu-v2-8",
            "tpu-v3-32",
            "H100",
        ] {
            assert_eq!(chips(n), None, "{n}");
        }
        // GPU names are not slices, and slices are not GPU names.
        assert!(lookup("tpu-v5p-8").is_none());
        assert_eq!(resolve("H100-MEGA").unwrap().spec.class, "H100");
        assert_eq!(resolve("gaudi2").unwrap().chips, 1);
    }
}
