//! Which record comes next: datasets drawn by their share of the mix, and the
//! authoritative records of the entities a record refers to sent before it.

use rand::RngExt;
use smallvec::SmallVec;

use super::Simulator;
use super::defects::DefectKind;
use super::population::{Kind, pick};
use super::profile::Pool;
use super::values::Plan;

impl Simulator {
    /// The next plan of the mix; draws of a dataset whose authoritative records were
    /// queued ahead are skipped, so that the long-run mix stays as configured.
    pub(super) fn draw_plan(&mut self) -> Plan {
        let total: u32 = self.catalog.datasets.iter().map(|d| d.share).sum();
        let ds = loop {
            let mut r = self.rng.random_range(0..total.max(1));
            let mut ds = self.catalog.datasets.len() - 1;
            for (i, d) in self.catalog.datasets.iter().enumerate() {
                if r < d.share {
                    ds = i;
                    break;
                }
                r -= d.share;
            }
            // Terminates: only finitely many queued records are owed.
            if self.debt[ds] == 0 {
                break ds;
            }
            self.debt[ds] -= 1;
        };
        let members = self.draw_members(ds, None);
        Plan { ds, members }
    }

    /// One member per binding of `ds`; `fixed` sets one of them beforehand.
    fn draw_members(&mut self, ds: usize, fixed: Option<(usize, usize)>) -> SmallVec<[usize; 4]> {
        let bindings = &self.catalog.datasets[ds].bindings;
        let mut members: SmallVec<[usize; 4]> = SmallVec::from_elem(0, bindings.len());
        // Companies first: a representative is the record's company's.
        for kind in [Kind::Company, Kind::Person] {
            for (b, binding) in bindings.iter().enumerate() {
                if binding.kind != kind {
                    continue;
                }
                if let Some((fb, m)) = fixed
                    && fb == b
                {
                    members[b] = m;
                    continue;
                }
                let company = bindings
                    .iter()
                    .position(|x| x.kind == Kind::Company)
                    .map(|c| members[c]);
                let pop = &self.population;
                members[b] = match (kind, binding.pool) {
                    (Kind::Company, _) => self.rng.random_range(0..pop.companies.len()),
                    (Kind::Person, Pool::Anyone) => self.rng.random_range(0..pop.persons.len()),
                    (Kind::Person, Pool::Adults) => *pick(&mut self.rng, &pop.adults),
                    (Kind::Person, Pool::Mothers) => *pick(&mut self.rng, &pop.mothers),
                    (Kind::Person, Pool::Representative) => match company {
                        Some(c) => pop.companies[c].rep,
                        None => *pick(&mut self.rng, &pop.adults),
                    },
                };
            }
        }
        members
    }

    /// Queues `plan` behind the authoritative records it refers to that are not out
    /// yet, so that cross-source checks find an authoritative value.
    pub(super) fn schedule(&mut self, plan: Plan) {
        for b in 0..plan.members.len() {
            let binding = &self.catalog.datasets[plan.ds].bindings[b];
            let (kind, m) = (binding.kind, plan.members[b]);
            if binding.authoritative {
                self.published[kind.index()][m] = true;
            } else {
                self.need(kind, m);
            }
        }
        self.pending.push_back(plan);
    }

    fn need(&mut self, kind: Kind, m: usize) {
        let Some((ds, b)) = self.catalog.authority[kind.index()] else {
            return;
        };
        if self.published[kind.index()][m] {
            return;
        }
        self.published[kind.index()][m] = true;
        self.debt[ds] += 1;
        let members = self.draw_members(ds, Some((b, m)));
        self.schedule(Plan { ds, members });
    }

    /// A defective authoritative record may not deliver a value; let the next
    /// reference to the entity queue a fresh one.
    pub(super) fn after_authoritative(&mut self, plan: &Plan, kind: Option<DefectKind>) {
        if matches!(kind, None | Some(DefectKind::Stale | DefectKind::Future)) {
            return;
        }
        let bindings = &self.catalog.datasets[plan.ds].bindings;
        for (binding, &m) in bindings.iter().zip(&plan.members) {
            if binding.authoritative {
                self.published[binding.kind.index()][m] = false;
            }
        }
    }
}
