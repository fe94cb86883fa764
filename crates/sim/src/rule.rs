//! The one place the simulator meets the spec's delivery rule
//! (`second-wave.md`, "Delivery when capacity falls short").
//!
//! The rule itself belongs in cascade-core (it is shared with `exposure` and
//! `bill`); until core exports it, this adapter is the simulator's only copy
//! and the merge replaces its body with a call into core.

/// What a pool of `net` GPUs held at a root (site, class) delivers while the
/// site has `avail` GPUs of the class up and `sold` GPUs are sold directly
/// from it: every contract rooted there, at any resale depth, delivers the
/// same fraction `f = min(1, avail / sold)` (1 when nothing is sold).
///
/// Returns the whole GPUs a scheduler may use (`⌊net × f⌋`, since a gang
/// job needs whole GPUs) and the exact GPUs not delivered, `net × (1 − f)`.
pub fn deliver(net: i64, avail: f64, sold: i64) -> (i64, f64) {
    if sold <= 0 || net <= 0 || avail >= sold as f64 {
        return (net.max(0), 0.0);
    }
    let f = (avail / sold as f64).max(0.0);
    let usable = ((net as f64) * f).floor() as i64;
    (usable.min(net), net as f64 * (1.0 - f))
}
