//! Planning tests: one small scenario per constraint family with the optimum
//! worked out by hand, infeasible cases with their sentences, the greedy
//! baseline, apply, the importer, and a property test that holds every
//! plan to an independent checker (and, on tiny instances, to brute force).

use cascade_core::{Id, Ledger, Scenario};
use cascade_plan::{
    BoundSource, Family, PlanError, PlanResult, PlanStatus, Strategy, apply, check_plan, plan,
};
use rust_decimal::Decimal;

/// Two providers, one site each, one offer each over 10 days (240 h):
/// o1 at p1/s1 costs $1.00/GPU-h (a block of 10 GPUs: $2,400),
/// o2 at p2/s2 costs $2.00/GPU-h (a block: $4,800). 10 blocks each.
const BASE: &str = r#"
name = "t"

[[gpu]]
id = "h100"
h100e = 1.0
watts = 700

[[party]]
id = "buyer"
[[party]]
id = "p1"
[[party]]
id = "p2"
[[party]]
id = "broker"
[[party]]
id = "other"

[[site]]
id = "s1"
owner = "p1"
region = "r1"
gpus = { h100 = 1000 }

[[site]]
id = "s2"
owner = "p2"
region = "r2"
gpus = { h100 = 1000 }

[[offer]]
id = "o1"
seller = "p1"
gpu = "h100"
max_gpus = 100
block_gpus = 10
start = 2026-01-01
end = 2026-01-11
price_per_gpu_hour = "1.00"
site = "s1"

[[offer]]
id = "o2"
seller = "p2"
gpu = "h100"
max_gpus = 100
block_gpus = 10
start = 2026-01-01
end = 2026-01-11
price_per_gpu_hour = "2.00"
site = "s2"
"#;

fn demand(h: u32) -> String {
    format!("\n[[demand]]\nbuyer = \"buyer\"\nstart = 2026-01-01\nend = 2026-01-11\nh100e = {h}\n")
}

fn load(extra: &str) -> (Scenario, Ledger) {
    let src = format!("{BASE}{extra}");
    let s = cascade_format::parse_toml(&src, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let l = Ledger::from_scenario(&s).unwrap_or_else(|e| panic!("{e:?}"));
    (s, l)
}

fn buyer() -> Id {
    Id::new("buyer").unwrap()
}

fn run(extra: &str, strategy: Strategy) -> (Scenario, Ledger, PlanResult) {
    let (s, l) = load(extra);
    let r = plan(&s, &l, &buyer(), strategy).unwrap_or_else(|e| panic!("{e}"));
    (s, l, r)
}

fn usd(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn bought(r: &PlanResult) -> Vec<(String, u32)> {
    r.purchases
        .iter()
        .map(|p| (p.offer.to_string(), p.gpus))
        .collect()
}

fn pairs(r: &PlanResult) -> Vec<(Id, u32)> {
    r.purchases
        .iter()
        .map(|p| (p.offer.clone(), p.gpus))
        .collect()
}

/// Optimal, feasible for the independent checker, with this objective and purchases.
fn assert_optimum(extra: &str, objective: &str, expect: &[(&str, u32)]) -> PlanResult {
    let (s, l, r) = run(extra, Strategy::Optimal);
    assert_eq!(r.status, PlanStatus::Optimal, "{:?}", r.status);
    assert_eq!(r.objective_usd, usd(objective), "{:?}", bought(&r));
    let want: Vec<(String, u32)> = expect.iter().map(|(o, g)| (o.to_string(), *g)).collect();
    assert_eq!(bought(&r), want);
    assert_eq!(r.objective_usd, r.purchases_usd + r.shortfall_usd);
    assert_eq!(check_plan(&s, &l, &buyer(), &pairs(&r)), vec![]);
    r
}

fn reason(extra: &str) -> String {
    let (_, _, r) = run(extra, Strategy::Optimal);
    match &r.status {
        PlanStatus::Infeasible { reason } => reason.clone(),
        ref other => panic!("expected infeasible, got {other:?} buying {:?}", bought(&r)),
    }
}

// ---- one family at a time -------------------------------------------------

#[test]
fn coverage_buys_the_cheapest_blocks() {
    // 50 H100e = 5 blocks of o1 at $2,400.
    let r = assert_optimum(&demand(50), "12000", &[("o1", 50)]);
    assert_eq!(r.purchases[0].cost_usd, usd("12000"));
    assert_eq!(r.purchases[0].provider.as_str(), "p1");
    assert_eq!(r.purchases[0].site.as_str(), "s1");
    assert_eq!(r.shortfall_usd, Decimal::ZERO);
}

#[test]
fn blocks_round_up() {
    // 55 H100e need 6 whole blocks.
    assert_optimum(&demand(55), "14400", &[("o1", 60)]);
}

#[test]
fn free_capacity_of_a_site() {
    // p1 sold 960 of s1's 1,000 GPUs: only 4 blocks of o1 fit; the fifth is o2.
    let extra = format!(
        "{}\n[[contract]]\nid = \"c-other\"\nseller = \"p1\"\nbuyer = \"other\"\ngpu = \"h100\"\ngpus = 960\nstart = 2025-12-01\nend = 2026-02-01\nprice_per_gpu_hour = \"1\"\nsite = \"s1\"\n",
        demand(50)
    );
    assert_optimum(&extra, "14400", &[("o1", 40), ("o2", 10)]);
}

/// broker holds 30 resellable GPUs from p1 and has resold 10 of them;
/// offer o3 resells the contract at $0.50.
const RESALE: &str = r#"
[[contract]]
id = "c-broker"
seller = "p1"
buyer = "broker"
gpu = "h100"
gpus = 30
start = 2026-01-01
end = 2026-01-11
price_per_gpu_hour = "0.40"
site = "s1"
resale = true

[[contract]]
id = "c-broker-other"
seller = "broker"
buyer = "other"
gpu = "h100"
gpus = 10
start = 2026-01-01
end = 2026-01-11
price_per_gpu_hour = "0.45"
backed_by = "c-broker"

[[offer]]
id = "o3"
seller = "broker"
gpu = "h100"
max_gpus = 30
block_gpus = 10
start = 2026-01-01
end = 2026-01-11
price_per_gpu_hour = "0.50"
backed_by = "c-broker"
"#;

#[test]
fn free_capacity_of_a_resale_across_tiers() {
    // o3 may sell only the 20 GPUs not yet resold: 2 blocks at $1,200, then 3 of o1.
    let extra = format!("{}{RESALE}", demand(50));
    let r = assert_optimum(&extra, "9600", &[("o1", 30), ("o3", 20)]);
    let o3 = r
        .purchases
        .iter()
        .find(|p| p.offer.as_str() == "o3")
        .unwrap();
    assert_eq!(o3.seller.as_str(), "broker");
    assert_eq!(o3.provider.as_str(), "p1");
}

#[test]
fn provider_share() {
    // p1 ≤ 60%: 3 blocks of o1 + 2 of o2 = 7,200 + 9,600.
    let extra = format!("{}\n[policy.buyer]\nmax_provider_share = 0.6\n", demand(50));
    assert_optimum(&extra, "16800", &[("o1", 30), ("o2", 20)]);
}

#[test]
fn n_minus_1() {
    // Losing either provider must leave 40: 4 blocks of each.
    let extra = format!(
        "{}\n[policy.buyer]\nmin_share_after_provider_loss = 0.8\n",
        demand(50)
    );
    assert_optimum(&extra, "28800", &[("o1", 40), ("o2", 40)]);
}

#[test]
fn co_location() {
    // The buyer holds 30 at s2. At 50 H100e in one site, 2 blocks of o2 at s2
    // ($9,600) beat 5 blocks of o1 at s1 ($12,000); without the policy 2
    // blocks of o1 ($4,800) would do.
    let held = "\n[[contract]]\nid = \"c-held\"\nseller = \"p2\"\nbuyer = \"buyer\"\ngpu = \"h100\"\ngpus = 30\nstart = 2026-01-01\nend = 2026-01-11\nprice_per_gpu_hour = \"1\"\nsite = \"s2\"\n";
    assert_optimum(&format!("{}{held}", demand(50)), "4800", &[("o1", 20)]);
    let extra = format!(
        "{}{held}\n[policy.buyer]\ncolocated_h100e = 50\n",
        demand(50)
    );
    assert_optimum(&extra, "9600", &[("o2", 20)]);
}

#[test]
fn right_of_first_refusal() {
    // p2 holds a ROFR; its offers are o2 (10 blocks) and o4 (3 blocks at
    // $2.10). Buying o1 requires both in full: 130 GPUs, at least $62,640.
    let extra = format!(
        "{}\n[[offer]]\nid = \"o4\"\nseller = \"p2\"\ngpu = \"h100\"\nmax_gpus = 30\nblock_gpus = 10\nstart = 2026-01-01\nend = 2026-01-11\nprice_per_gpu_hour = \"2.10\"\nsite = \"s2\"\n\n[[clause]]\nkind = \"rofr\"\nbuyer = \"buyer\"\nholder = \"p2\"\nuntil = 2026-06-01\n",
        demand(50)
    );
    // Buying 50 from p2 alone is cheaper: 5 blocks of o2, $24,000.
    assert_optimum(&extra, "24000", &[("o2", 50)]);
}

#[test]
fn right_of_first_refusal_forces_the_holder_offer_in_full() {
    // Only o1 (p1) and o4 (p2, 3 blocks at $2.10: $15,120 in full) are
    // considered: o4 alone cannot cover 50, so o4 in full + 2 blocks of o1.
    let (s, l) = load(&format!(
        "{}\n[[offer]]\nid = \"o4\"\nseller = \"p2\"\ngpu = \"h100\"\nmax_gpus = 30\nblock_gpus = 10\nstart = 2026-01-01\nend = 2026-01-11\nprice_per_gpu_hour = \"2.10\"\nsite = \"s2\"\n\n[[clause]]\nkind = \"rofr\"\nbuyer = \"buyer\"\nholder = \"p2\"\nuntil = 2026-06-01\n",
        demand(50)
    ));
    let opts = cascade_plan::PlanOptions {
        strategy: Strategy::Optimal,
        only_offers: Some(vec![Id::new("o1").unwrap(), Id::new("o4").unwrap()]),
        ..Default::default()
    };
    let r = cascade_plan::plan_with(&s, &l, &buyer(), &opts).unwrap();
    assert_eq!(r.status, PlanStatus::Optimal);
    assert_eq!(bought(&r), vec![("o1".into(), 20), ("o4".into(), 30)]);
    assert_eq!(r.objective_usd, usd("19920"));
    // The checker (which knows nothing of the restriction to o1 and o4)
    // sees a partial o4 as a breach.
    let partial = vec![(Id::new("o1").unwrap(), 30), (Id::new("o4").unwrap(), 20)];
    let b = check_plan(&s, &l, &buyer(), &partial);
    assert!(b.iter().any(|b| b.family == Family::Rofr), "{b:?}");
}

#[test]
fn exclusive_clause() {
    let extra = format!(
        "{}\n[[clause]]\nkind = \"exclusive\"\nbuyer = \"buyer\"\nseller = \"p2\"\nuntil = 2026-06-01\n",
        demand(50)
    );
    let r = assert_optimum(&extra, "24000", &[("o2", 50)]);
    assert_eq!(r.excluded.len(), 1);
    assert_eq!(
        r.excluded[0].to_string(),
        "offer o1 is excluded by an exclusive clause: before 2026-06-01 the buyer buys only from p2, and this offer is sold by p1 and starts 2026-01-01"
    );
}

#[test]
fn no_resale_to_reaches_through_the_chain() {
    // p1 may not sell to the buyer at any depth: o1 (direct) and o3 (a
    // resale of p1's capacity by broker) are both out.
    let extra = format!(
        "{}{RESALE}\n[[clause]]\nkind = \"no_resale_to\"\nseller = \"p1\"\nparty = \"buyer\"\n",
        demand(50)
    );
    let r = assert_optimum(&extra, "24000", &[("o2", 50)]);
    let ex: Vec<&str> = r.excluded.iter().map(|x| x.offer.as_str()).collect();
    assert_eq!(ex, vec!["o1", "o3"]);
}

#[test]
fn avoid_provider_is_physical() {
    // Avoiding p1 also excludes broker's resale of p1 capacity.
    let extra = format!(
        "{}{RESALE}\n[[clause]]\nkind = \"avoid_provider\"\nbuyer = \"buyer\"\nprovider = \"p1\"\n",
        demand(50)
    );
    let r = assert_optimum(&extra, "24000", &[("o2", 50)]);
    assert_eq!(r.excluded.len(), 2);
}

#[test]
fn commitment_shortfall_is_in_the_objective() {
    // $20,000 committed with p2: 4 blocks of o2 ($19,200, shortfall $800)
    // + 1 block of o1 ($2,400) = $22,400 beats o1 only ($12,000 + $20,000)
    // and o2 only ($24,000).
    let extra = format!(
        "{}\n[[commitment]]\nid = \"commit-p2\"\nbuyer = \"buyer\"\nseller = \"p2\"\nstart = 2025-01-01\nend = 2027-01-01\nusd = \"20000\"\n",
        demand(50)
    );
    let r = assert_optimum(&extra, "22400", &[("o1", 10), ("o2", 40)]);
    assert_eq!(r.purchases_usd, usd("21600"));
    assert_eq!(r.shortfall_usd, usd("800"));
    assert_eq!(r.commitments[0].new_spend_usd, usd("19200"));
}

#[test]
fn budget_that_fits() {
    let extra = format!("{}\n[policy.buyer]\nbudget_usd = \"12000\"\n", demand(50));
    assert_optimum(&extra, "12000", &[("o1", 50)]);
}

#[test]
fn held_capacity_counts() {
    // The buyer already holds 30 at s2 for the first 5 days: 50 − 30 = 20
    // more then, 50 after. o1 spans all 10 days: 5 blocks.
    let extra = format!(
        "{}\n[[contract]]\nid = \"c-held\"\nseller = \"p2\"\nbuyer = \"buyer\"\ngpu = \"h100\"\ngpus = 30\nstart = 2026-01-01\nend = 2026-01-06\nprice_per_gpu_hour = \"1\"\nsite = \"s2\"\n",
        demand(50)
    );
    assert_optimum(&extra, "12000", &[("o1", 50)]);
    // Demand only in the first 5 days: 2 blocks.
    let extra = "\n[[demand]]\nbuyer = \"buyer\"\nstart = 2026-01-01\nend = 2026-01-06\nh100e = 50\n[[contract]]\nid = \"c-held\"\nseller = \"p2\"\nbuyer = \"buyer\"\ngpu = \"h100\"\ngpus = 30\nstart = 2026-01-01\nend = 2026-01-06\nprice_per_gpu_hour = \"1\"\nsite = \"s2\"\n";
    assert_optimum(extra, "4800", &[("o1", 20)]);
}

// ---- infeasible: which family, and by how much ----------------------------

#[test]
fn infeasible_coverage_says_by_how_much() {
    assert_eq!(
        reason(&demand(2000)),
        "Coverage from 2026-01-01 to 2026-01-11: need 2,000 H100e; you hold 0 and at most 200 more are on offer to you (short by 1,800)."
    );
}

#[test]
fn infeasible_coverage_from_whole_blocks() {
    // s1 has 45 free: o1 can add 40 in whole blocks, o2 100: 140 < 145.
    let extra = format!(
        "{}\n[[contract]]\nid = \"c-other\"\nseller = \"p1\"\nbuyer = \"other\"\ngpu = \"h100\"\ngpus = 955\nstart = 2026-01-01\nend = 2026-01-11\nprice_per_gpu_hour = \"1\"\nsite = \"s1\"\n",
        demand(145)
    );
    assert_eq!(
        reason(&extra),
        "Coverage from 2026-01-01 to 2026-01-11: need 145 H100e beyond the 0 you hold; whole blocks within free capacity add at most 140 (short by 5)."
    );
}

#[test]
fn infeasible_n_minus_1_names_provider_and_amounts() {
    let extra = format!(
        "{}\n[policy.buyer]\nmin_share_after_provider_loss = 0.8\n",
        demand(150)
    );
    assert_eq!(
        reason(&extra),
        "N-1 for provider p1 from 2026-01-01 to 2026-01-11: need 120 H100e outside p1, at most 100 on offer (you hold 0 outside p1 and offers add at most 100)."
    );
}

#[test]
fn infeasible_co_location() {
    let extra = format!("{}\n[policy.buyer]\ncolocated_h100e = 150\n", demand(50));
    let r = reason(&extra);
    assert!(
        r.starts_with("Co-location from 2026-01-01 to 2026-01-11: need 150 H100e at one site, the best site (s"),
        "{r}"
    );
    assert!(r.contains("reaches at most 100"), "{r}");
}

#[test]
fn infeasible_provider_share_found_by_relaxing() {
    // Two providers at most 40% each cannot make 100%.
    let extra = format!("{}\n[policy.buyer]\nmax_provider_share = 0.4\n", demand(50));
    let r = reason(&extra);
    assert!(r.starts_with("Provider share for provider p"), "{r}");
    assert!(
        r.contains("no plan that covers demand keeps") && r.contains("at or below 40.0%"),
        "{r}"
    );
}

#[test]
fn infeasible_budget_says_the_cheapest_cost() {
    let extra = format!("{}\n[policy.buyer]\nbudget_usd = \"10000\"\n", demand(50));
    assert_eq!(
        reason(&extra),
        "Budget: the cheapest plan that meets coverage costs $12,000.00 (purchases $12,000.00 + commitment shortfall $0.00), above the budget of $10,000.00 by $2,000.00."
    );
}

#[test]
fn infeasible_rofr() {
    // Only o1 and the holder's o4 (3 blocks, but s2 has only 20 free): o4
    // can never be bought in full, so o1 is out; o4 alone gives 20 < 50.
    let (s, l) = load(&format!(
        "{}\n[[offer]]\nid = \"o4\"\nseller = \"p2\"\ngpu = \"h100\"\nmax_gpus = 30\nblock_gpus = 10\nstart = 2026-01-01\nend = 2026-01-11\nprice_per_gpu_hour = \"2.00\"\nsite = \"s2\"\n\n[[contract]]\nid = \"c-other\"\nseller = \"p2\"\nbuyer = \"other\"\ngpu = \"h100\"\ngpus = 980\nstart = 2026-01-01\nend = 2026-01-11\nprice_per_gpu_hour = \"1\"\nsite = \"s2\"\n\n[[clause]]\nkind = \"rofr\"\nbuyer = \"buyer\"\nholder = \"p2\"\nuntil = 2026-06-01\n",
        demand(50)
    ));
    let opts = cascade_plan::PlanOptions {
        strategy: Strategy::Optimal,
        only_offers: Some(vec![Id::new("o1").unwrap(), Id::new("o4").unwrap()]),
        ..Default::default()
    };
    let r = cascade_plan::plan_with(&s, &l, &buyer(), &opts).unwrap();
    let PlanStatus::Infeasible { reason } = r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(
        reason,
        "Right of first refusal of p2 (until 2026-06-01): buying from other sellers first requires p2's offer o4 in full (30 GPUs), but at most 20 GPUs of it can be bought, and demand cannot be met from p2 alone."
    );
}

// ---- greedy -----------------------------------------------------------------

#[test]
fn greedy_respects_share_cap_and_free_capacity() {
    let extra = format!("{}\n[policy.buyer]\nmax_provider_share = 0.6\n", demand(50));
    let (_, _, g) = run(&extra, Strategy::Greedy);
    assert_eq!(g.status, PlanStatus::Feasible);
    assert_eq!(bought(&g), vec![("o1".into(), 30), ("o2".into(), 20)]);
    assert_eq!(g.objective_usd, usd("16800"));
}

#[test]
fn greedy_reports_the_policies_it_breaks() {
    let extra = format!(
        "{}\n[policy.buyer]\nmin_share_after_provider_loss = 0.8\n",
        demand(50)
    );
    let (_, _, g) = run(&extra, Strategy::Greedy);
    assert_eq!(bought(&g), vec![("o1".into(), 50)]);
    assert!(g.breaches.iter().all(|b| b.family == Family::NMinus1));
    let PlanStatus::Infeasible { reason } = &g.status else {
        panic!()
    };
    assert_eq!(
        reason,
        "the greedy plan breaks 1 constraint: N-1 for provider p1 from 2026-01-01 to 2026-01-11: losing p1 leaves 0 H100e, need 40 (80.0% of demand)"
    );
    let (_, _, o) = run(&extra, Strategy::Optimal);
    assert!(
        o.objective_usd >= g.objective_usd,
        "greedy is cheaper only because it breaks N-1"
    );
}

#[test]
fn greedy_is_never_cheaper_than_optimal_when_both_feasible() {
    // Commitment: greedy ignores it and pays the shortfall.
    let extra = format!(
        "{}\n[[commitment]]\nid = \"commit-p2\"\nbuyer = \"buyer\"\nseller = \"p2\"\nstart = 2025-01-01\nend = 2027-01-01\nusd = \"20000\"\n",
        demand(50)
    );
    let (_, _, g) = run(&extra, Strategy::Greedy);
    assert_eq!(g.status, PlanStatus::Feasible);
    assert_eq!(g.objective_usd, usd("32000"));
    let (_, _, o) = run(&extra, Strategy::Optimal);
    assert_eq!(o.objective_usd, usd("22400"));
}

// ---- bad input ----------------------------------------------------------------

#[test]
fn unknown_buyer_and_no_demand() {
    let (s, l) = load(&demand(50));
    let e = plan(&s, &l, &Id::new("nobody").unwrap(), Strategy::Optimal).unwrap_err();
    assert!(matches!(e, PlanError::UnknownBuyer { .. }));
    assert!(
        e.to_string()
            .contains("parties: buyer, p1, p2, broker, other"),
        "{e}"
    );
    let e = plan(&s, &l, &Id::new("p1").unwrap(), Strategy::Optimal).unwrap_err();
    assert_eq!(e, PlanError::NoDemand(Id::new("p1").unwrap()));
}

#[test]
fn no_usable_offer_says_why_each_is_excluded() {
    let extra = format!(
        "{}\n[[clause]]\nkind = \"avoid_provider\"\nbuyer = \"buyer\"\nprovider = \"p1\"\n\n[[clause]]\nkind = \"exclusive\"\nbuyer = \"buyer\"\nseller = \"p1\"\nuntil = 2026-06-01\n",
        demand(50)
    );
    let (s, l) = load(&extra);
    let e = plan(&s, &l, &buyer(), Strategy::Optimal).unwrap_err();
    assert_eq!(
        e.to_string(),
        "buyer cannot use any offer:\n  offer o1 is excluded by an avoid_provider clause: its physical provider is p1\n  offer o2 is excluded by an exclusive clause: before 2026-06-01 the buyer buys only from p1, and this offer is sold by p2 and starts 2026-01-01"
    );
}

#[test]
fn a_named_offer_the_buyer_cannot_use() {
    let extra = format!(
        "{}\n[[clause]]\nkind = \"avoid_provider\"\nbuyer = \"buyer\"\nprovider = \"p1\"\n",
        demand(50)
    );
    let (s, l) = load(&extra);
    let opts = cascade_plan::PlanOptions {
        strategy: Strategy::Optimal,
        only_offers: Some(vec![Id::new("o1").unwrap()]),
        ..Default::default()
    };
    let e = cascade_plan::plan_with(&s, &l, &buyer(), &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "buyer cannot use the requested offer: offer o1 is excluded by an avoid_provider clause: its physical provider is p1"
    );
}

// ---- apply ----------------------------------------------------------------------

#[test]
fn apply_turns_purchases_into_valid_contracts() {
    let extra = format!("{}{RESALE}", demand(50));
    let (s, l, r) = run(&extra, Strategy::Optimal);
    let applied = apply(&s, &r).unwrap();
    let l2 = Ledger::from_scenario(&applied).unwrap_or_else(|e| panic!("{e:?}"));
    let c = applied
        .contracts
        .iter()
        .find(|c| c.id.as_str() == "plan-o3")
        .unwrap();
    assert_eq!(
        c.source,
        cascade_core::Source::BackedBy(Id::new("c-broker").unwrap())
    );
    assert_eq!(c.seller.as_str(), "broker");
    assert_eq!(c.buyer.as_str(), "buyer");
    assert!(!c.resale);
    // o3 is sold out (20 of 30 bought leaves one block): it shrinks to 10.
    let o3 = applied
        .offers
        .iter()
        .find(|o| o.id.as_str() == "o3")
        .unwrap();
    assert_eq!(o3.max_gpus.get(), 10);
    // The buyer now holds 50 H100e; planning again buys nothing.
    let t = cascade_core::Instant::from_date(2026, 1, 1).unwrap();
    assert_eq!(l2.exposure(&buyer(), t).total_h100e, 50.0);
    let again = plan(&applied, &l2, &buyer(), Strategy::Optimal).unwrap();
    assert_eq!(again.status, PlanStatus::Optimal);
    assert!(again.purchases.is_empty());
    // Round trip through TOML.
    let text = cascade_format::to_toml(&applied);
    let back = cascade_format::parse_toml(&text, "applied.toml").unwrap();
    Ledger::from_scenario(&back).unwrap();
    let _ = l;
}

// ---- property: every plan passes the independent checker ---------------------------

mod props {
    use super::*;
    use cascade_core::{
        Clause, Contract, Demand, GpuClass, Gpus, Instant, Need, Offer, Party, Policy, Positive,
        Share, Site, Source, Usd, UsdPerGpuHour, Window,
    };
    use cascade_plan::Strategy;
    use proptest::prelude::{ProptestConfig, any, prop_assert, prop_assert_eq, proptest};
    use proptest::strategy::Strategy as _;

    fn day(d: u32) -> Instant {
        Instant::from_unix_seconds(
            Instant::from_date(2026, 1, 1).unwrap().unix_seconds() + i64::from(d) * 86_400,
        )
    }

    fn w(a: u32, b: u32) -> Window {
        Window::new(day(a), day(b)).unwrap()
    }

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    /// provider, a100?, block, blocks, start day, length, price cents, via broker
    type GenOffer = (usize, bool, u32, u32, u32, u32, u32, bool);

    #[derive(Debug, Clone)]
    struct Gen {
        site_caps: Vec<(u32, u32)>,        // per provider: h100, a100 installed
        sold: Vec<u32>, // per provider: GPUs of h100 sold to "other" over days 0..6
        held: Vec<(usize, u32, u32, u32)>, // buyer holds: provider, gpus, start, len
        offers: Vec<GenOffer>,
        demands: Vec<(u32, u32, u32)>, // start, len, h100e
        alpha: Option<u8>,
        beta: Option<u8>,
        k: Option<u32>,
        budget: Option<u32>,
        commit: Option<(usize, u32)>,
        clause: u8,
        clause_p: usize,
    }

    fn arb() -> impl proptest::strategy::Strategy<Value = Gen> {
        (
            proptest::collection::vec((20u32..120, 0u32..80), 3),
            proptest::collection::vec(0u32..60, 3),
            proptest::collection::vec((0usize..3, 5u32..40, 0u32..4, 2u32..6), 0..2),
            proptest::collection::vec(
                (
                    0usize..3,
                    any::<bool>(),
                    5u32..20,
                    1u32..5,
                    0u32..3,
                    6u32..10,
                    50u32..400,
                    any::<bool>(),
                ),
                2..6,
            ),
            proptest::collection::vec((1u32..4, 1u32..4, 5u32..35), 1..3),
            (
                proptest::option::of(5u8..11),
                proptest::option::of(2u8..7),
                proptest::option::of(10u32..40),
                proptest::option::of(2_000u32..60_000),
                proptest::option::of((0usize..3, 100u32..5_000)),
                0u8..5,
                0usize..3,
            ),
        )
            .prop_map(
                |(
                    site_caps,
                    sold,
                    held,
                    offers,
                    demands,
                    (alpha, beta, k, budget, commit, clause, clause_p),
                )| Gen {
                    site_caps,
                    sold,
                    held,
                    offers,
                    demands,
                    alpha,
                    beta,
                    k,
                    budget,
                    commit,
                    clause,
                    clause_p,
                },
            )
    }

    fn scenario(g: &Gen) -> Scenario {
        let mut s = Scenario {
            name: "prop".into(),
            ..Scenario::default()
        };
        s.gpus = vec![
            GpuClass {
                id: id("h100"),
                h100e: Positive::new("h", 1.0).unwrap(),
                watts: Positive::new("w", 700.0).unwrap(),
            },
            GpuClass {
                id: id("a100"),
                h100e: Positive::new("h", 0.5).unwrap(),
                watts: Positive::new("w", 400.0).unwrap(),
            },
        ];
        for p in ["buyer", "broker", "other", "p0", "p1", "p2"] {
            s.parties.push(Party {
                id: id(p),
                name: None,
            });
        }
        for (i, &(h, a)) in g.site_caps.iter().enumerate() {
            let mut gpus = vec![(id("h100"), Gpus::new("g", i64::from(h) + 100).unwrap())];
            if a > 0 {
                gpus.push((id("a100"), Gpus::new("g", i64::from(a)).unwrap()));
            }
            gpus.sort_by(|x, y| x.0.cmp(&y.0));
            s.sites.push(Site {
                id: id(&format!("s{i}")),
                owner: id(&format!("p{i}")),
                region: "r".into(),
                power_mw: None,
                gpus,
            });
        }
        let price = |c: u32| UsdPerGpuHour::new("p", Decimal::new(i64::from(c), 2)).unwrap();
        for (i, &q) in g.sold.iter().enumerate() {
            if q > 0 {
                s.contracts.push(Contract {
                    id: id(&format!("sold{i}")),
                    seller: id(&format!("p{i}")),
                    buyer: id("other"),
                    gpu: id("h100"),
                    gpus: Gpus::new("g", i64::from(q)).unwrap(),
                    window: w(0, 6),
                    price_per_gpu_hour: price(100),
                    source: Source::Site(id(&format!("s{i}"))),
                    resale: false,
                });
            }
            // broker holds 40 resellable H100 at each site over days 0..10.
            s.contracts.push(Contract {
                id: id(&format!("bk{i}")),
                seller: id(&format!("p{i}")),
                buyer: id("broker"),
                gpu: id("h100"),
                gpus: Gpus::new("g", 40).unwrap(),
                window: w(0, 10),
                price_per_gpu_hour: price(100),
                source: Source::Site(id(&format!("s{i}"))),
                resale: true,
            });
        }
        for (j, &(p, q, st, len)) in g.held.iter().enumerate() {
            s.contracts.push(Contract {
                id: id(&format!("held{j}")),
                seller: id(&format!("p{p}")),
                buyer: id("buyer"),
                gpu: id("h100"),
                gpus: Gpus::new("g", i64::from(q)).unwrap(),
                window: w(st, st + len),
                price_per_gpu_hour: price(100),
                source: Source::Site(id(&format!("s{p}"))),
                resale: false,
            });
        }
        for (j, &(p, a100, block, blocks, st, len, cents, via)) in g.offers.iter().enumerate() {
            let via = via && !a100;
            let has_a100 = g.site_caps[p].1 > 0;
            let gpu = if a100 && has_a100 { "a100" } else { "h100" };
            let max = block * blocks;
            let (seller, source) = if via {
                (id("broker"), Source::BackedBy(id(&format!("bk{p}"))))
            } else {
                (id(&format!("p{p}")), Source::Site(id(&format!("s{p}"))))
            };
            s.offers.push(Offer {
                id: id(&format!("o{j}")),
                seller,
                gpu: id(gpu),
                max_gpus: Gpus::new("g", i64::from(max.min(if via { 40 } else { u32::MAX })))
                    .unwrap()
                    .max(Gpus::new("g", i64::from(block)).unwrap()),
                block_gpus: Gpus::new("g", i64::from(block)).unwrap(),
                window: if via {
                    w(st.min(4), (st + len).min(10))
                } else {
                    w(st, st + len)
                },
                price_per_gpu_hour: price(cents),
                source,
            });
        }
        for &(st, len, h) in &g.demands {
            s.demands.push(Demand {
                buyer: id("buyer"),
                window: w(st, st + len),
                need: Need::H100e(Positive::new("d", f64::from(h)).unwrap()),
            });
        }
        let p = id(&format!("p{}", g.clause_p));
        match g.clause {
            1 => s.clauses.push(Clause::Rofr {
                buyer: id("buyer"),
                holder: p,
                until: day(3),
            }),
            2 => s.clauses.push(Clause::AvoidProvider {
                buyer: id("buyer"),
                provider: p,
            }),
            3 => s.clauses.push(Clause::NoResaleTo {
                seller: id("broker"),
                party: id("buyer"),
            }),
            4 => s.clauses.push(Clause::Exclusive {
                buyer: id("buyer"),
                seller: p,
                until: day(2),
            }),
            _ => {}
        }
        if let Some((p, usd)) = g.commit {
            s.commitments.push(cascade_core::Commitment {
                id: id("commit"),
                buyer: id("buyer"),
                seller: id(&format!("p{p}")),
                window: w(0, 30),
                usd: Usd::new("u", Decimal::from(usd)).unwrap(),
            });
        }
        s.policies.push((
            id("buyer"),
            Policy {
                max_provider_share: g
                    .alpha
                    .map(|a| Share::new("a", f64::from(a) / 10.0).unwrap()),
                min_share_after_provider_loss: g
                    .beta
                    .map(|b| Share::new("b", f64::from(b) / 10.0).unwrap()),
                colocated_h100e: g.k.map(|k| Positive::new("k", f64::from(k)).unwrap()),
                budget_usd: g.budget.map(|b| Usd::new("b", Decimal::from(b)).unwrap()),
            },
        ));
        s
    }

    /// Exact objective of a list of purchases: cost + commitment shortfall.
    fn objective(l: &Ledger, buy: &[(Id, u32)]) -> Decimal {
        let cost =
            |o: &Offer, q: u32| Decimal::from(q) * o.price_per_gpu_hour.get() * o.window.hours();
        let mut total = Decimal::ZERO;
        for (oid, q) in buy {
            total += cost(l.offer(oid).unwrap(), *q);
        }
        for (c, usd, spent) in l.commitments_of(&id("buyer")) {
            let new: Decimal = buy
                .iter()
                .map(|(oid, q)| (l.offer(oid).unwrap(), *q))
                .filter(|(o, _)| o.seller == c.seller && c.window.contains(o.window.start()))
                .map(|(o, q)| cost(o, q))
                .sum();
            total += (usd - spent - new).max(Decimal::ZERO);
        }
        total
    }

    /// The cheapest feasible plan by enumeration, if the instance is tiny.
    fn brute_force(s: &Scenario, l: &Ledger) -> Option<Option<Decimal>> {
        let offers: Vec<&Offer> = l.offers().collect();
        let sizes: Vec<u32> = offers.iter().map(|o| o.max_blocks() + 1).collect();
        let combos: u64 = sizes.iter().map(|&x| u64::from(x)).product();
        if combos > 1500 {
            return None;
        }
        let mut best: Option<Decimal> = None;
        let mut n = vec![0u32; offers.len()];
        loop {
            let buy: Vec<(Id, u32)> = offers
                .iter()
                .zip(&n)
                .filter(|(_, k)| **k > 0)
                .map(|(o, k)| (o.id.clone(), k * o.block_gpus.get()))
                .collect();
            if check_plan(s, l, &id("buyer"), &buy).is_empty() {
                let obj = objective(l, &buy);
                if best.is_none_or(|b| obj < b) {
                    best = Some(obj);
                }
            }
            let mut i = 0;
            loop {
                if i == n.len() {
                    return Some(best);
                }
                n[i] += 1;
                if n[i] < sizes[i] {
                    break;
                }
                n[i] = 0;
                i += 1;
            }
        }
    }

    proptest! {
        // PROPTEST_CASES=5000 for a longer run.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
            ..ProptestConfig::default()
        })]

        #[test]
        fn plans_satisfy_every_constraint(g in arb()) {
            let s = scenario(&g);
            let l = match Ledger::from_scenario(&s) {
                Ok(l) => l,
                Err(_) => return Ok(()),
            };
            let opt = match plan(&s, &l, &id("buyer"), Strategy::Optimal) {
                Ok(r) => r,
                Err(PlanError::NoUsableOffer { .. }) => return Ok(()),
                Err(e) => panic!("{e}"),
            };
            let greedy = plan(&s, &l, &id("buyer"), Strategy::Greedy).unwrap();
            // Greedy's breaches are exactly what the checker says.
            prop_assert_eq!(&greedy.breaches, &check_plan(&s, &l, &id("buyer"), &pairs(&greedy)));
            let brute = brute_force(&s, &l);
            match &opt.status {
                PlanStatus::Optimal => {
                    let b = check_plan(&s, &l, &id("buyer"), &pairs(&opt));
                    prop_assert!(b.is_empty(), "optimal plan breaks {:?}", b);
                    prop_assert_eq!(opt.objective_usd, objective(&l, &pairs(&opt)));
                    // HiGHS on the whole model agrees within the gap, however
                    // the optimum was proven.
                    let whole = cascade_plan::plan_with(&s, &l, &id("buyer"), &cascade_plan::PlanOptions {
                        strategy: Strategy::Optimal,
                        whole_model: true,
                        ..Default::default()
                    }).unwrap();
                    prop_assert_eq!(&whole.status, &PlanStatus::Optimal);
                    let tol = opt.objective_usd.max(whole.objective_usd) * Decimal::new(1, 4) + Decimal::new(1, 2);
                    prop_assert!((opt.objective_usd - whole.objective_usd).abs() <= tol,
                        "optimal {} vs whole model {}", opt.objective_usd, whole.objective_usd);
                    if greedy.status == PlanStatus::Feasible {
                        let slack = greedy.objective_usd * Decimal::new(1, 4) + Decimal::new(1, 2);
                        prop_assert!(opt.objective_usd <= greedy.objective_usd + slack,
                            "optimal {} > greedy {}", opt.objective_usd, greedy.objective_usd);
                    }
                    if let Some(best) = brute {
                        let best = best.expect("brute force finds the optimizer's plan feasible too");
                        let slack = best * Decimal::new(1, 4) + Decimal::new(1, 2);
                        prop_assert!(opt.objective_usd <= best + slack,
                            "optimal {} > brute force {}", opt.objective_usd, best);
                    }
                }
                PlanStatus::Infeasible { reason } => {
                    prop_assert!(!reason.is_empty());
                    prop_assert!(greedy.status != PlanStatus::Feasible, "greedy found a plan: {}", reason);
                    if let Some(best) = brute {
                        prop_assert!(best.is_none(), "brute force finds {:?} but: {}", best, reason);
                    }
                }
                PlanStatus::Feasible => prop_assert!(false, "optimal strategy never says feasible"),
            }
        }
    }
}

// ---- how the optimum is proven --------------------------------------------

#[test]
fn when_the_lp_guided_attempt_falls_short_the_whole_model_is_solved() {
    let src = include_str!("fixtures/lp-guided-falls-back.toml");
    let s = cascade_format::parse_toml(src, "lp-guided-falls-back.toml").unwrap();
    let l = Ledger::from_scenario(&s).unwrap();
    let r = plan(&s, &l, &buyer(), Strategy::Optimal).unwrap();
    assert_eq!(r.status, PlanStatus::Optimal);
    assert_eq!(r.objective_usd, usd("8268.00"));
    assert_eq!(
        bought(&r),
        vec![("o1".to_string(), 10), ("o2".to_string(), 32)]
    );
    assert_eq!(r.bound, Some(BoundSource::BranchAndBound));
}

#[test]
fn a_plan_within_the_gap_of_the_lp_bound_needs_no_branch_and_bound() {
    // 50 H100e = 5 blocks of o1: the LP relaxation is integral already.
    let (_, _, r) = run(&demand(50), Strategy::Optimal);
    assert_eq!(r.objective_usd, usd("12000"));
    assert_eq!(r.bound, Some(BoundSource::LpRelaxation));
    assert_eq!(r.mip_gap, Some(0.0));
}

/// A mid-size market written out by a seeded generator: 6 providers with 2
/// sites each, H100 and A100 at every site, each sold in 3 staggered
/// 6-month terms over 12 months; demand ramps monthly; every family is on
/// (share, N-1, co-location, a ROFR of p0 for 3 months, a commitment with p1,
/// a budget). p0's offers are small, so its ROFR can be met.
fn mid_size_market(block_gpus: u32, scale: u32) -> String {
    let mut rng: u64 = 0x5EED_CA5C_ADE0_0001;
    let mut next = |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let mut t = String::from(
        "name = \"mid-size\"\n\n[[gpu]]\nid = \"h100\"\nh100e = 1.0\nwatts = 700\n\n\
         [[gpu]]\nid = \"a100\"\nh100e = 0.3\nwatts = 400\n\n[[party]]\nid = \"buyer\"\n",
    );
    let month = |m: u32| format!("{}-{:02}-01", 2026 + m / 12, m % 12 + 1);
    for p in 0..6 {
        t += &format!("\n[[party]]\nid = \"p{p}\"\n");
        for s in 0..2 {
            t += &format!(
                "\n[[site]]\nid = \"p{p}s{s}\"\nowner = \"p{p}\"\nregion = \"r{s}\"\ngpus = {{ h100 = {c}, a100 = {c} }}\n",
                c = 400 * scale
            );
            for (gpu, base) in [("h100", 200u64), ("a100", 60)] {
                for k in 0..3u32 {
                    let cents = base + next(40);
                    t += &format!(
                        "\n[[offer]]\nid = \"p{p}s{s}-{gpu}-t{k}\"\nseller = \"p{p}\"\ngpu = \"{gpu}\"\n\
                         max_gpus = {}\nblock_gpus = {block_gpus}\nstart = {}\nend = {}\n\
                         price_per_gpu_hour = \"{}.{:02}\"\nsite = \"p{p}s{s}\"\n",
                        // p0 holds the ROFR: its offers are small enough to buy in full.
                        if p == 0 { 24 } else { 240 * scale },
                        month(3 * k),
                        month(3 * k + 6),
                        cents / 100,
                        cents % 100
                    );
                }
            }
        }
    }
    for m in 0..12u32 {
        t += &format!(
            "\n[[demand]]\nbuyer = \"buyer\"\nstart = {}\nend = {}\nh100e = {}\n",
            month(m),
            month(m + 1),
            (900 + 97 * m) * scale
        );
    }
    t += &format!(
        "\n[[commitment]]\nid = \"c1\"\nbuyer = \"buyer\"\nseller = \"p1\"\nusd = \"{}\"\n\
         start = 2026-01-01\nend = 2027-01-01\n",
        2_500_000 * scale
    );
    t += "\n[[clause]]\nkind = \"rofr\"\nbuyer = \"buyer\"\nholder = \"p0\"\nuntil = 2026-04-01\n";
    t += &format!(
        "\n[policy.buyer]\nmax_provider_share = 0.3\nmin_share_after_provider_loss = 0.75\n\
         colocated_h100e = 300.0\nbudget_usd = \"{}\"\n",
        100_000_000 * scale
    );
    t
}

/// Solves the mid-size market both ways, checks both, returns
/// (LP bound first, whole model).
fn both_ways(block_gpus: u32, scale: u32) -> (PlanResult, PlanResult) {
    let src = mid_size_market(block_gpus, scale);
    let s = cascade_format::parse_toml(&src, "mid-size.toml").unwrap_or_else(|e| panic!("{e}"));
    let l = Ledger::from_scenario(&s).unwrap_or_else(|e| panic!("{e:?}"));
    let run = |whole_model| {
        let opts = cascade_plan::PlanOptions {
            strategy: Strategy::Optimal,
            whole_model,
            ..Default::default()
        };
        cascade_plan::plan_with(&s, &l, &buyer(), &opts).unwrap()
    };
    let (guided, whole) = (run(false), run(true));
    for r in [&guided, &whole] {
        assert_eq!(r.status, PlanStatus::Optimal);
        assert_eq!(check_plan(&s, &l, &buyer(), &pairs(r)), vec![]);
        assert!(r.mip_gap.unwrap() <= 1e-4, "{:?}", r.mip_gap);
    }
    assert_eq!(whole.bound, Some(BoundSource::BranchAndBound));
    // Both are within 1e-4 of the same optimum.
    let diff = (guided.objective_usd - whole.objective_usd).abs();
    let tol = guided.objective_usd.max(whole.objective_usd) * Decimal::new(1, 4);
    assert!(
        diff <= tol,
        "{} vs {}",
        guided.objective_usd,
        whole.objective_usd
    );
    (guided, whole)
}

#[test]
fn with_single_gpu_blocks_the_lp_bound_proves_the_plan() {
    // 9,000-20,000 H100e in blocks of one GPU, and co-location (300 H100e)
    // that any plan meets: the LP bound proves the plan. (With co-location
    // binding, its binaries weaken the LP bound and HiGHS has to branch.)
    let (guided, _) = both_ways(1, 10);
    assert_eq!(guided.bound, Some(BoundSource::LpRelaxation));
}

#[test]
fn with_8_gpu_blocks_the_whole_model_is_solved() {
    // One 8-GPU block for 6 months (~$70k) is 2e-3 of the $31M plan, so
    // the LP bound cannot prove 1e-4 and HiGHS branches on the whole model,
    // with the plan of the co-location sites chosen by LP (coloc.rs) as a
    // cutoff. (HiGHS alone, `--whole-model`, stops at $31,376,720.64,
    // within 1e-4 of this one: both_ways checks it.)
    let (guided, _) = both_ways(8, 1);
    assert_eq!(guided.bound, Some(BoundSource::BranchAndBound));
    assert_eq!(guided.objective_usd, usd("31376025.60"));
}

// ---- site build-out ---------------------------------------------------------

/// fixtures/phase-comes-online.toml: free capacity per segment follows
/// installed(t), and segments are cut at the expansion's date.
///
/// Phase 2 on 2026-01-06: s1 has 10 installed and 10 sold before it, 50
/// installed and 10 sold from it, so free is 0 on [01-01, 01-06) and 40 on
/// [01-06, 01-11). o-early ($960 a block) spans both: its blocks need free
/// GPUs on the first segment, where there are none, so it cannot be
/// bought. o-late ($1,200 a block) starts on the phase's date and takes the
/// 40: 4 blocks. The demand's last 10 H100e come from o2 ($2,400).
/// Cost = 4 × $1,200 + $2,400 = $7,200.
///
/// Moved to 2026-01-08 the phase comes online after o-late starts, so o-late
/// cannot be bought either: 5 blocks of o2 = $12,000. Moved to 2026-01-01,
/// o-early's 4 blocks fit: 4 × $960 + $2,400 = $6,240.
#[test]
fn an_offer_is_bought_only_after_its_phase_comes_online() {
    let src = include_str!("fixtures/phase-comes-online.toml");
    let solve = |src: &str| {
        let s = cascade_format::parse_toml(src, "phase-comes-online.toml")
            .unwrap_or_else(|e| panic!("{e}"));
        let l = Ledger::from_scenario(&s).unwrap_or_else(|e| panic!("{e:?}"));
        let r = plan(&s, &l, &buyer(), Strategy::Optimal).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, PlanStatus::Optimal, "{:?}", r.status);
        assert_eq!(check_plan(&s, &l, &buyer(), &pairs(&r)), vec![]);
        (r.objective_usd, bought(&r))
    };
    let own = |v: &[(&str, u32)]| -> Vec<(String, u32)> {
        v.iter().map(|(o, g)| (o.to_string(), *g)).collect()
    };
    assert_eq!(
        solve(src),
        (usd("7200"), own(&[("o-late", 40), ("o2", 10)]))
    );
    let phase = "effective = 2026-01-06";
    assert!(src.contains(phase));
    assert_eq!(
        solve(&src.replace(phase, "effective = 2026-01-08")),
        (usd("12000"), own(&[("o2", 50)]))
    );
    assert_eq!(
        solve(&src.replace(phase, "effective = 2026-01-01")),
        (usd("6240"), own(&[("o-early", 40), ("o2", 10)]))
    );
}

/// Two offers of 7 million H100 for ten years at $1,000,000 an hour:
/// 7e6 × 87 648 h × 1e6 = 6.13536e17 USD each, under the 1e18 the ledger
/// holds, but 1.227e18 together. A plan could pass the bound: refused with
/// the figure, never a plan with saturated or float-rounded costs.
#[test]
fn a_plan_that_could_pass_the_money_bound_is_an_error() {
    let big = |id: &str| {
        format!(
            "\n[[offer]]\nid = \"{id}\"\nseller = \"p1\"\ngpu = \"h100\"\nmax_gpus = 7000000\nblock_gpus = 1000000\n\
             start = 2026-01-01\nend = 2036-01-01\nprice_per_gpu_hour = \"1000000\"\nsite = \"s3\"\n"
        )
    };
    let extra = format!(
        "\n[[site]]\nid = \"s3\"\nowner = \"p1\"\nregion = \"r1\"\ngpus = {{ h100 = 10000000 }}\n{}{}{}",
        big("o3"),
        big("o4"),
        demand(10)
    );
    let (s, l) = load(&extra);
    for strategy in [Strategy::Optimal, Strategy::Greedy] {
        match plan(&s, &l, &buyer(), strategy) {
            Err(PlanError::TooLarge { value, limit, .. }) => {
                assert_eq!(limit, "1000000000000000000");
                // 2 × 6.13536e17 plus o1 and o2 (24 000 + 48 000).
                assert_eq!(value, "1227072000000072000");
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
}

// ---- demand by GPU class and shape (issue 14) -------------------------------------

/// A fixture file plus demands of `buyer` over its 10 days (240 hours).
fn fixture(src: &str, demands: &[&str]) -> (Scenario, Ledger) {
    let mut text = src.to_string();
    for d in demands {
        text.push_str(&format!(
            "\n[[demand]]\nbuyer = \"buyer\"\nstart = 2026-01-01\nend = 2026-01-11\n{d}\n"
        ));
    }
    let s = cascade_format::parse_toml(&text, "fixture.toml").unwrap_or_else(|e| panic!("{e}"));
    let l = Ledger::from_scenario(&s).unwrap_or_else(|e| panic!("{e:?}"));
    (s, l)
}

/// Optimal, accepted by the independent checker, with this cost and these purchases.
fn class_optimum(
    src: &str,
    demands: &[&str],
    objective: &str,
    expect: &[(&str, u32)],
) -> PlanResult {
    let (s, l) = fixture(src, demands);
    let r = plan(&s, &l, &buyer(), Strategy::Optimal).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, PlanStatus::Optimal, "{:?}", r.status);
    let want: Vec<(String, u32)> = expect.iter().map(|(o, g)| (o.to_string(), *g)).collect();
    assert_eq!(bought(&r), want);
    assert_eq!(r.objective_usd, usd(objective));
    assert_eq!(check_plan(&s, &l, &buyer(), &pairs(&r)), vec![]);
    r
}

const L4_V100: &str = include_str!("fixtures/class-l4-v100.toml");
const PER_SITE: &str = include_str!("fixtures/class-per-site.toml");
const X3_SHAPE: &str = include_str!("fixtures/class-x3-shape.toml");

#[test]
fn an_l4_request_is_not_met_by_a_v100() {
    // In H100e, the V100 is cheaper: 0.4 H100e for $0.50 × 240 h = $120.
    class_optimum(L4_V100, &["h100e = 0.3"], "120", &[("pa-r1-v100-x1", 1)]);
    // Asked by class (written in lower case: classes compare
    // case-insensitively), only the L4 will do: $0.80 × 240 h = $192.
    let r = class_optimum(
        L4_V100,
        &["gpu = \"l4\"\ngpus = 1"],
        "192",
        &[("pb-r2-l4-x1", 1)],
    );
    assert_eq!(r.purchases[0].gpu.as_str(), "L4");
    assert_eq!(r.purchases[0].block_gpus, 1);
    assert_eq!(r.purchases[0].blocks, 1);
    assert!(r.surplus.is_empty(), "{:?}", r.surplus);
    // The checker, on its own, refuses the V100 for the L4 request.
    let (s, l) = fixture(L4_V100, &["gpu = \"L4\"\ngpus = 1"]);
    let breaches = check_plan(&s, &l, &buyer(), &[(Id::new("pa-r1-v100-x1").unwrap(), 1)]);
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0].family, Family::ClassDemand);
    assert!(
        breaches[0]
            .message
            .contains("0 L4 GPUs held and bought, demand is 1 (short by 1)"),
        "{}",
        breaches[0].message
    );
    // The greedy baseline serves the class first as well.
    let g = plan(&s, &l, &buyer(), Strategy::Greedy).unwrap();
    assert_eq!(bought(&g), vec![("pb-r2-l4-x1".to_string(), 1)]);
    assert_eq!(g.status, PlanStatus::Feasible);
}

#[test]
fn class_and_h100e_demands_add_up() {
    // 1 L4 (0.3 H100e) and 0.4 H100e of anything: the L4 serves its own
    // demand, a V100 the rest: $192 + $120.
    class_optimum(
        L4_V100,
        &["gpu = \"L4\"\ngpus = 1", "h100e = 0.4"],
        "312",
        &[("pa-r1-v100-x1", 1), ("pb-r2-l4-x1", 1)],
    );
}

#[test]
fn a_class_request_beyond_the_offers_says_how_short() {
    let (s, l) = fixture(L4_V100, &["gpu = \"L4\"\ngpus = 2"]);
    let r = plan(&s, &l, &buyer(), Strategy::Optimal).unwrap();
    let PlanStatus::Infeasible { reason } = &r.status else {
        panic!("{:?}", r.status)
    };
    assert!(
        reason
            .contains("need 2 L4; you hold 0 and at most 1 more are on offer to you (short by 1)"),
        "{reason}"
    );
}

#[test]
fn a_demand_for_an_unknown_class_is_rejected_with_its_place() {
    let text = format!(
        "{L4_V100}\n[[demand]]\nbuyer = \"buyer\"\nstart = 2026-01-01\nend = 2026-01-11\ngpu = \"A100\"\ngpus = 8\n"
    );
    let s = cascade_format::parse_toml(&text, "fixture.toml").unwrap();
    let e = Ledger::from_scenario(&s).unwrap_err();
    let text = format!("{e:?}");
    assert!(text.contains("A100"), "{text}");
    for bad in [
        "gpu = \"L4\"",
        "gpus = 1",
        "h100e = 1\ngpu = \"L4\"\ngpus = 1",
        "h100e = 1\nper_site = true",
        "gpu = \"L4\"\ngpus = 0",
    ] {
        let text = format!(
            "{L4_V100}\n[[demand]]\nbuyer = \"buyer\"\nstart = 2026-01-01\nend = 2026-01-11\n{bad}\n"
        );
        let e = cascade_format::parse_toml(&text, "fixture.toml").unwrap_err();
        assert!(e.to_string().contains("demand[0]"), "{bad}: {e}");
    }
}

#[test]
fn eight_gpus_in_one_site_are_not_eight_regions() {
    // Anywhere: eight 1-GPU instances at $2.00 × 240 h = $3,840.
    let anywhere: Vec<(String, u32)> = (1..=8).map(|i| (format!("p1-r{i}-h100-x1"), 1)).collect();
    let want: Vec<(&str, u32)> = anywhere.iter().map(|(o, g)| (o.as_str(), *g)).collect();
    class_optimum(PER_SITE, &["gpu = \"H100\"\ngpus = 8"], "3840", &want);
    // In one site: the 8-GPU instance in r9, 8 × $2.50 × 240 h = $4,800.
    let r = class_optimum(
        PER_SITE,
        &["gpu = \"H100\"\ngpus = 8\nper_site = true"],
        "4800",
        &[("p2-r9-h100-x8", 8)],
    );
    assert_eq!(r.purchases[0].site.as_str(), "p2-r9");
    assert_eq!(r.purchases[0].region, "r9");
    assert_eq!(r.purchases[0].provider.as_str(), "p2");
    // The checker refuses the eight regions for the per-site request.
    let (s, l) = fixture(PER_SITE, &["gpu = \"H100\"\ngpus = 8\nper_site = true"]);
    let spread: Vec<(Id, u32)> = anywhere
        .iter()
        .map(|(o, g)| (Id::new(o).unwrap(), *g))
        .collect();
    let breaches = check_plan(&s, &l, &buyer(), &spread);
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0].family, Family::PerSite);
    assert!(
        breaches[0]
            .message
            .contains("8 H100 GPUs must sit in one site"),
        "{}",
        breaches[0].message
    );
}

#[test]
fn a_3_gpu_shape_cannot_give_8_in_one_site_alone() {
    // Anywhere: 2 × 1 GPU at $1.00 and 2 × 3 GPUs at $1.50:
    // (2 + 9) × 240 h = $2,640.
    class_optimum(
        X3_SHAPE,
        &["gpu = \"H100\"\ngpus = 8"],
        "2640",
        &[("ph-h100-x3", 6), ("pk-h100-x1", 2)],
    );
    // In one site: site h has at most 6, k 2; only g's 8-GPU instance
    // will do: 8 × $2.00 × 240 h = $3,840.
    class_optimum(
        X3_SHAPE,
        &["gpu = \"H100\"\ngpus = 8\nper_site = true"],
        "3840",
        &[("pg-h100-x8", 8)],
    );
    // 5 in one site: two 3-GPU instances at h, 6 × $1.50 × 240 h = $2,160,
    // one GPU more than asked, shown as surplus.
    let r = class_optimum(
        X3_SHAPE,
        &["gpu = \"H100\"\ngpus = 5\nper_site = true"],
        "2160",
        &[("ph-h100-x3", 6)],
    );
    assert_eq!(r.purchases[0].blocks, 2);
    assert_eq!(r.surplus.len(), 1, "{:?}", r.surplus);
    assert_eq!(r.surplus[0].gpu.as_ref().map(Id::as_str), Some("H100"));
    assert_eq!((r.surplus[0].needed, r.surplus[0].bought), (5.0, 6.0));
    // 9 in one site is out of reach, and the reason names the best site.
    let (s, l) = fixture(X3_SHAPE, &["gpu = \"H100\"\ngpus = 9\nper_site = true"]);
    let r = plan(&s, &l, &buyer(), Strategy::Optimal).unwrap();
    let PlanStatus::Infeasible { reason } = &r.status else {
        panic!("{:?}", r.status)
    };
    assert!(
        reason.contains("9 H100 GPUs in one site") && reason.contains("reaches at most 8"),
        "{reason}"
    );
}
