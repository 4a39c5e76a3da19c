//! The reference data the mock starts with: the dealerships, the factory's catalogue of base
//! platforms and options with the combinations the factory refuses, and the list prices.

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
    /// List price of the base platform in euro cents.
    pub price_minor: i64,
}

pub const BASE_PLATFORMS: &[BasePlatform] = &[
    BasePlatform {
        id: "urban-ev",
        name: "Urban EV",
        production_days: 42,
        price_minor: 2_990_000,
        options: &["heat-pump", "panoramic-roof", "long-range-battery", "roof-rails"],
    },
    BasePlatform {
        id: "family-suv",
        name: "Family SUV",
        production_days: 56,
        price_minor: 4_450_000,
        options: &["heat-pump", "panoramic-roof", "tow-hitch", "sport-suspension", "third-row-seats", "roof-rails"],
    },
    BasePlatform {
        id: "cargo-van",
        name: "Cargo Van",
        production_days: 35,
        price_minor: 3_600_000,
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

/// List prices of the options in euro cents, the same on every base platform.
const OPTION_PRICES: &[(&str, i64)] = &[
    ("heat-pump", 120_000),
    ("panoramic-roof", 150_000),
    ("long-range-battery", 450_000),
    ("roof-rails", 40_000),
    ("tow-hitch", 90_000),
    ("sport-suspension", 180_000),
    ("third-row-seats", 160_000),
];

/// The list price of a configuration in euro cents, when every part of it is in the catalogue.
pub fn price_minor(base_platform: &str, options: &[String]) -> Option<i64> {
    let base = self::base_platform(base_platform)?.price_minor;
    options.iter().try_fold(base, |total, option| {
        OPTION_PRICES.iter().find(|(id, _)| id == option).map(|(_, price)| total + price)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_of_every_platform_has_a_price() {
        for platform in BASE_PLATFORMS {
            let all: Vec<String> = platform.options.iter().map(|o| (*o).to_owned()).collect();
            assert!(price_minor(platform.id, &all).is_some(), "{}", platform.id);
        }
        assert_eq!(price_minor("urban-ev", &["heat-pump".into()]), Some(3_110_000));
        assert_eq!(price_minor("urban-ev", &["warp-drive".into()]), None);
    }
}
