//! The H100-equivalent table: SkyPilot accelerator names → Cascade GPU
//! classes, with throughput relative to one H100 SXM.
//!
//! Metric: peak **dense** (no 2:4 sparsity) BF16 Tensor Core TFLOPS from
//! NVIDIA's datasheets; FP16 Tensor where the part has no BF16 (Volta,
//! Turing); FP32 for Pascal parts without tensor cores. `h100e` is that
//! figure over the H100 SXM's 989.4 TFLOPS, rounded to 4 places. Where a
//! datasheet quotes only the sparse figure it is halved. Watts are the
//! board power (TDP / max power) from the same datasheet.
//!
//! `docs/h100e.md` is this table with the source of each row; a test keeps
//! the two in step.

/// One GPU class of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuSpec {
    /// Cascade GPU class id.
    pub class: &'static str,
    /// SkyPilot `AcceleratorName`s mapped to this class.
    pub names: &'static [&'static str],
    /// Dense TFLOPS of the metric named in `metric`.
    pub tflops: f64,
    pub metric: &'static str,
    /// tflops / 989.4, rounded to 4 places.
    pub h100e: f64,
    pub watts: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

/// Dense BF16 Tensor TFLOPS of one H100 SXM: the unit of H100e.
pub const H100_SXM_BF16_DENSE: f64 = 989.4;

const BF16: &str = "BF16 Tensor, dense";
const FP16: &str = "FP16 Tensor, dense";
const FP32: &str = "FP32";

/// The table, most capable first.
pub const TABLE: &[GpuSpec] = &[
    GpuSpec {
        class: "b200",
        names: &["B200"],
        tflops: 2250.0,
        metric: BF16,
        h100e: 2.2741,
        watts: 1000.0,
        source: "NVIDIA HGX B200 datasheet: 36 PFLOPS FP16/BF16 with sparsity per 8 GPUs (2.25 PFLOPS dense per GPU), 1,000 W",
    },
    GpuSpec {
        class: "b300",
        names: &["B300"],
        tflops: 2250.0,
        metric: BF16,
        h100e: 2.2741,
        watts: 1100.0,
        source: "NVIDIA HGX B300 datasheet: 36 PFLOPS FP16/BF16 with sparsity per 8 GPUs (2.25 PFLOPS dense per GPU); 1,100 W per GPU",
    },
    GpuSpec {
        class: "h100",
        names: &["H100", "H100-SXM", "H100-MEGA"],
        tflops: 989.4,
        metric: BF16,
        h100e: 1.0,
        watts: 700.0,
        source: "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM: 1,979 TFLOPS BF16 with sparsity, 700 W",
    },
    GpuSpec {
        class: "h200",
        names: &["H200"],
        tflops: 989.4,
        metric: BF16,
        h100e: 1.0,
        watts: 700.0,
        source: "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM: 1,979 TFLOPS BF16 with sparsity, 700 W",
    },
    GpuSpec {
        class: "gh200",
        names: &["GH200"],
        tflops: 989.4,
        metric: BF16,
        h100e: 1.0,
        watts: 1000.0,
        source: "NVIDIA GH200 Grace Hopper Superchip datasheet: 1,979 TFLOPS BF16 with sparsity; module power up to 1,000 W (CPU + GPU)",
    },
    GpuSpec {
        class: "rtx-6000-ada",
        names: &["RTX6000-Ada", "RTX6000Ada"],
        tflops: 364.2,
        metric: BF16,
        h100e: 0.3681,
        watts: 300.0,
        source: "NVIDIA Ada Lovelace GPU architecture whitepaper, appendix (RTX 6000 Ada: 364.2 TFLOPS BF16 dense), RTX 6000 Ada datasheet: 300 W",
    },
    GpuSpec {
        class: "l40s",
        names: &["L40S"],
        tflops: 362.05,
        metric: BF16,
        h100e: 0.3659,
        watts: 350.0,
        source: "NVIDIA L40S datasheet: 362.05 TFLOPS BF16 (733 with sparsity), 350 W",
    },
    GpuSpec {
        class: "a100-80gb",
        names: &["A100-80GB", "A100-80GB-SXM"],
        tflops: 312.0,
        metric: BF16,
        h100e: 0.3153,
        watts: 400.0,
        source: "NVIDIA A100 Tensor Core GPU datasheet: 312 TFLOPS BF16 (624 with sparsity), A100 80GB SXM 400 W",
    },
    GpuSpec {
        class: "a100",
        names: &["A100"],
        tflops: 312.0,
        metric: BF16,
        h100e: 0.3153,
        watts: 400.0,
        source: "NVIDIA A100 Tensor Core GPU datasheet: 312 TFLOPS BF16 (624 with sparsity), A100 40GB SXM 400 W",
    },
    GpuSpec {
        class: "a800",
        names: &["A800"],
        tflops: 312.0,
        metric: BF16,
        h100e: 0.3153,
        watts: 400.0,
        source: "NVIDIA A800 datasheet: 312 TFLOPS BF16 (624 with sparsity), SXM 400 W",
    },
    GpuSpec {
        class: "l40",
        names: &["L40"],
        tflops: 181.05,
        metric: BF16,
        h100e: 0.183,
        watts: 300.0,
        source: "NVIDIA L40 datasheet: 181.05 TFLOPS BF16 (362.1 with sparsity), 300 W",
    },
    GpuSpec {
        class: "rtx-4090",
        names: &["RTX4090"],
        tflops: 165.2,
        metric: "BF16 Tensor with FP32 accumulate, dense",
        h100e: 0.167,
        watts: 450.0,
        source: "NVIDIA Ada Lovelace GPU architecture whitepaper, appendix (GeForce RTX 4090: 165.2 TFLOPS BF16 with FP32 accumulate), 450 W",
    },
    GpuSpec {
        class: "rtx-a6000",
        names: &["A6000", "RTXA6000"],
        tflops: 154.8,
        metric: BF16,
        h100e: 0.1565,
        watts: 300.0,
        source: "NVIDIA RTX A6000 datasheet: 309.7 Tensor TFLOPS with sparsity, 300 W",
    },
    GpuSpec {
        class: "a40",
        names: &["A40"],
        tflops: 149.7,
        metric: BF16,
        h100e: 0.1513,
        watts: 300.0,
        source: "NVIDIA A40 datasheet: 149.7 TFLOPS BF16 (299.4 with sparsity), 300 W",
    },
    GpuSpec {
        class: "quadro-rtx-6000",
        names: &["RTX6000"],
        tflops: 130.5,
        metric: FP16,
        h100e: 0.1319,
        watts: 295.0,
        source: "NVIDIA Quadro RTX 6000 datasheet: 130.5 Tensor TFLOPS (FP16, Turing has no BF16), 295 W",
    },
    GpuSpec {
        class: "v100",
        names: &["V100", "V100-32GB"],
        tflops: 125.0,
        metric: FP16,
        h100e: 0.1263,
        watts: 300.0,
        source: "NVIDIA Tesla V100 datasheet: 125 Tensor TFLOPS (FP16, Volta has no BF16), SXM2 300 W",
    },
    GpuSpec {
        class: "a10",
        names: &["A10"],
        tflops: 125.0,
        metric: BF16,
        h100e: 0.1263,
        watts: 150.0,
        source: "NVIDIA A10 datasheet: 125 TFLOPS BF16 (250 with sparsity), 150 W",
    },
    GpuSpec {
        class: "l4",
        names: &["L4"],
        tflops: 121.0,
        metric: BF16,
        h100e: 0.1223,
        watts: 72.0,
        source: "NVIDIA L4 datasheet: 242 TFLOPS BF16 with sparsity, 72 W",
    },
    GpuSpec {
        class: "rtx-a5000",
        names: &["RTXA5000", "A5000"],
        tflops: 111.1,
        metric: BF16,
        h100e: 0.1123,
        watts: 230.0,
        source: "NVIDIA RTX A5000 datasheet: 222.2 Tensor TFLOPS with sparsity, 230 W",
    },
    GpuSpec {
        class: "rtx-a4500",
        names: &["RTXA4500"],
        tflops: 94.6,
        metric: BF16,
        h100e: 0.0956,
        watts: 200.0,
        source: "NVIDIA RTX A4500 datasheet: 189.2 Tensor TFLOPS with sparsity, 200 W",
    },
    GpuSpec {
        class: "rtx-4000-ada",
        names: &["RTX4000-Ada"],
        tflops: 81.9,
        metric: BF16,
        h100e: 0.0828,
        watts: 130.0,
        source: "NVIDIA RTX 4000 Ada datasheet: 327.6 Tensor TFLOPS (FP8 with sparsity; BF16 dense is a quarter), 130 W",
    },
    GpuSpec {
        class: "rtx-a4000",
        names: &["RTXA4000", "A4000"],
        tflops: 76.7,
        metric: BF16,
        h100e: 0.0775,
        watts: 140.0,
        source: "NVIDIA RTX A4000 datasheet: 153.4 Tensor TFLOPS with sparsity, 140 W",
    },
    GpuSpec {
        class: "rtx-3090",
        names: &["RTX3090"],
        tflops: 71.0,
        metric: "BF16 Tensor with FP32 accumulate, dense",
        h100e: 0.0718,
        watts: 350.0,
        source: "NVIDIA Ampere GA102 GPU architecture whitepaper (GeForce RTX 3090: 71 TFLOPS FP16/BF16 Tensor with FP32 accumulate), 350 W",
    },
    GpuSpec {
        class: "t4",
        names: &["T4"],
        tflops: 65.0,
        metric: FP16,
        h100e: 0.0657,
        watts: 70.0,
        source: "NVIDIA T4 datasheet: 65 TFLOPS mixed precision (FP16/FP32), 70 W",
    },
    GpuSpec {
        class: "p100",
        names: &["P100"],
        tflops: 18.7,
        metric: "FP16 (no tensor cores)",
        h100e: 0.0189,
        watts: 250.0,
        source: "NVIDIA Tesla P100 datasheet: 18.7 TFLOPS FP16 (PCIe), 250 W",
    },
    GpuSpec {
        class: "p4",
        names: &["P4"],
        tflops: 5.5,
        metric: FP32,
        h100e: 0.0056,
        watts: 75.0,
        source: "NVIDIA Tesla P4 datasheet: 5.5 TFLOPS FP32 (no fast FP16), 75 W",
    },
];

/// The class a SkyPilot accelerator name maps to (exact name, then ASCII
/// case-insensitive), or `None` for accelerators not in the table (TPUs,
/// Gaudi, small workstation cards).
pub fn lookup(accelerator: &str) -> Option<&'static GpuSpec> {
    TABLE
        .iter()
        .find(|g| g.names.contains(&accelerator))
        .or_else(|| {
            TABLE
                .iter()
                .find(|g| g.names.iter().any(|n| n.eq_ignore_ascii_case(accelerator)))
        })
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
            assert!(cascade_core::Id::new(g.class).is_ok());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for g in TABLE {
            for n in g.names {
                assert!(seen.insert(n.to_ascii_lowercase()), "{n} twice");
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
}
