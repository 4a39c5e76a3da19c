//! The reference data the mock starts with: the dealerships and the factory's catalogue of base
//! platforms and options, with the combinations the factory refuses.

/// A dealership of the network; staff tokens are issued per dealership by the sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Dealership {
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub locality: &'static str,
}

pub const DEALERSHIPS: &[Dealership] = &[
    Dealership { id: "madrid-centro", name: "CaaS Madrid Centro", country: "ES", locality: "Madrid" },
    Dealership { id: "valencia-puerto", name: "CaaS Valencia Puerto", country: "ES", locality: "Valencia" },
    Dealership { id: "lisboa-oriente", name: "CaaS Lisboa Oriente", country: "PT", locality: "Lisboa" },
];

/// A model the factory builds.
#[derive(Debug, Clone, Copy)]
pub struct BasePlatform {
    pub id: &'static str,
    pub name: &'static str,
    /// Working days from order to completion when nothing goes wrong.
    pub production_days: i64,
    pub options: &'static [&'static str],
}

pub const BASE_PLATFORMS: &[BasePlatform] = &[
    BasePlatform {
        id: "urban-ev",
        name: "Urban EV",
        production_days: 42,
        options: &["heat-pump", "panoramic-roof", "long-range-battery", "roof-rails"],
    },
    BasePlatform {
        id: "family-suv",
        name: "Family SUV",
        production_days: 56,
        options: &["heat-pump", "panoramic-roof", "tow-hitch", "sport-suspension", "third-row-seats", "roof-rails"],
    },
    BasePlatform {
        id: "cargo-van",
        name: "Cargo Van",
        production_days: 35,
        options: &["tow-hitch", "roof-rails", "long-range-battery"],
    },
];

/// Options that cannot be fitted together, with the factory's reason.
pub const INCOMPATIBLE: &[(&str, &str, &str)] = &[
    ("tow-hitch", "sport-suspension", "the lowered sport suspension cannot carry a tow load"),
    ("panoramic-roof", "roof-rails", "roof rails cannot be mounted on the panoramic glass roof"),
];

pub fn base_platform(id: &str) -> Option<&'static BasePlatform> {
    BASE_PLATFORMS.iter().find(|p| p.id == id)
}
