//! The reference data the mock starts with: the dealerships, the factory's catalogue of base
//! platforms and options with the combinations the factory refuses, the list prices, and the
//! transport companies with their drivers, service areas and capacity.

/// A dealership of the network; staff tokens are issued per dealership by the sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Dealership {
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub locality: &'static str,
    /// Where customers collect a car the transport could not deliver.
    pub address: &'static str,
    pub opening_hours: &'static str,
    /// The staff's address for what needs a person at once (a disputed handover).
    pub email: &'static str,
}

pub const DEALERSHIPS: &[Dealership] = &[
    Dealership {
        id: "madrid-centro",
        name: "CaaS Madrid Centro",
        country: "ES",
        locality: "Madrid",
        address: "Calle de Alcalá 120, 28009 Madrid",
        opening_hours: "Mon-Fri 09:00-20:00, Sat 10:00-14:00",
        email: "entregas@madrid-centro.dealer.example",
    },
    Dealership {
        id: "valencia-puerto",
        name: "CaaS Valencia Puerto",
        country: "ES",
        locality: "Valencia",
        address: "Avenida del Puerto 45, 46023 Valencia",
        opening_hours: "Mon-Fri 09:00-20:00, Sat 10:00-14:00",
        email: "entregas@valencia-puerto.dealer.example",
    },
    Dealership {
        id: "lisboa-oriente",
        name: "CaaS Lisboa Oriente",
        country: "PT",
        locality: "Lisboa",
        address: "Avenida Dom João II 40, 1990-094 Lisboa",
        opening_hours: "Mon-Sat 09:30-19:30",
        email: "entregas@lisboa-oriente.dealer.example",
    },
];

pub fn dealership(id: &str) -> Option<&'static Dealership> {
    DEALERSHIPS.iter().find(|d| d.id == id)
}

/// A subcontracted transport company.
#[derive(Debug, Clone, Copy)]
pub struct TransportCompany {
    pub id: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    /// The localities it delivers to.
    pub serves: &'static [&'static str],
    /// Cars it can deliver in one window; each day has the windows of [`DELIVERY_WINDOWS`].
    pub cars_per_window: u32,
}

pub const TRANSPORT_COMPANIES: &[TransportCompany] = &[
    TransportCompany {
        id: "iberia-carriers",
        name: "Iberia Car Carriers",
        phone: "+34910000100",
        serves: &["Madrid", "Toledo", "Valencia"],
        cars_per_window: 2,
    },
    TransportCompany {
        id: "meseta-logistics",
        name: "Meseta Logistics",
        phone: "+34910000200",
        serves: &["Madrid", "Salamanca", "Segovia"],
        cars_per_window: 1,
    },
    TransportCompany {
        id: "tejo-transportes",
        name: "Tejo Transportes",
        phone: "+351210000300",
        serves: &["Lisboa", "Porto", "Setúbal"],
        cars_per_window: 2,
    },
];

pub fn transport_company(id: &str) -> Option<&'static TransportCompany> {
    TRANSPORT_COMPANIES.iter().find(|c| c.id == id)
}

/// The daily delivery windows, as UTC hours `[start, end)`.
pub const DELIVERY_WINDOWS: &[(u32, u32)] = &[(9, 11), (11, 13), (15, 17), (17, 19)];

/// A driver of a transport company; signs in with the emailed code like a customer.
#[derive(Debug, Clone, Copy)]
pub struct Driver {
    pub id: &'static str,
    pub company_id: &'static str,
    pub name: &'static str,
    pub email: &'static str,
}

pub const DRIVERS: &[Driver] = &[
    Driver {
        id: "ic-lucia",
        company_id: "iberia-carriers",
        name: "Lucía Gómez",
        email: "lucia@iberia-carriers.example",
    },
    Driver {
        id: "ic-pablo",
        company_id: "iberia-carriers",
        name: "Pablo Ruiz",
        email: "pablo@iberia-carriers.example",
    },
    Driver {
        id: "ml-carmen",
        company_id: "meseta-logistics",
        name: "Carmen Vidal",
        email: "carmen@meseta-logistics.example",
    },
    Driver {
        id: "tt-joao",
        company_id: "tejo-transportes",
        name: "João Silva",
        email: "joao@tejo-transportes.example",
    },
    Driver {
        id: "tt-rita",
        company_id: "tejo-transportes",
        name: "Rita Costa",
        email: "rita@tejo-transportes.example",
    },
];

pub fn driver(id: &str) -> Option<&'static Driver> {
    DRIVERS.iter().find(|d| d.id == id)
}

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

/// The maintenance plan of a base platform: a service every so many km or months.
pub fn maintenance_plan(base_platform: &str) -> caas_protocol::maintenance::MaintenancePlan {
    use caas_protocol::maintenance::MaintenancePlan;
    match base_platform {
        "family-suv" => MaintenancePlan { every_km: 15_000, every_months: 12 },
        "cargo-van" => MaintenancePlan { every_km: 30_000, every_months: 24 },
        _ => MaintenancePlan { every_km: 20_000, every_months: 12 },
    }
}

/// The workshop's hourly slots, as UTC hours `[start, end)` of each weekday.
pub const WORKSHOP_HOURS: (u32, u32) = (8, 17);
/// Cars each dealership's workshop takes in one slot.
pub const WORKSHOP_BAYS: u32 = 2;

/// An option sold after delivery.
#[derive(Debug, Clone, Copy)]
pub struct AddOn {
    pub code: &'static str,
    pub kind: caas_protocol::options::OptionKind,
    /// Price in euro cents.
    pub price_minor: i64,
    /// The base platforms it is offered for.
    pub platforms: &'static [&'static str],
    /// Options the car must have first (fitted at the factory or added since).
    pub requires: &'static [&'static str],
    /// Options it cannot go with, either way round.
    pub conflicts_with: &'static [&'static str],
}

const ALL_PLATFORMS: &[&str] = &["urban-ev", "family-suv", "cargo-van"];

/// The options a car can take after delivery. Software options switch on hardware every car of the
/// platform has; workshop options need parts fitted at the dealership.
pub const AFTER_DELIVERY: &[AddOn] = {
    use caas_protocol::options::OptionKind::{Software, Workshop};
    &[
        AddOn {
            code: "heated-seats",
            kind: Software,
            price_minor: 30_000,
            platforms: ALL_PLATFORMS,
            requires: &[],
            conflicts_with: &[],
        },
        AddOn {
            code: "connected-navigation",
            kind: Software,
            price_minor: 19_900,
            platforms: ALL_PLATFORMS,
            requires: &[],
            conflicts_with: &[],
        },
        AddOn {
            code: "performance-boost",
            kind: Software,
            price_minor: 150_000,
            platforms: &["urban-ev", "family-suv"],
            requires: &["long-range-battery"],
            conflicts_with: &["eco-range-mode"],
        },
        AddOn {
            code: "eco-range-mode",
            kind: Software,
            price_minor: 9_900,
            platforms: &["urban-ev", "cargo-van"],
            requires: &[],
            conflicts_with: &["performance-boost"],
        },
        AddOn {
            code: "trailer-assist",
            kind: Software,
            price_minor: 45_000,
            platforms: &["family-suv", "cargo-van"],
            requires: &["tow-hitch"],
            conflicts_with: &[],
        },
        AddOn {
            code: "tow-hitch",
            kind: Workshop,
            price_minor: 90_000,
            platforms: &["family-suv", "cargo-van"],
            requires: &[],
            conflicts_with: &["sport-suspension"],
        },
        AddOn {
            code: "roof-rails",
            kind: Workshop,
            price_minor: 40_000,
            platforms: ALL_PLATFORMS,
            requires: &[],
            conflicts_with: &["panoramic-roof"],
        },
    ]
};

/// The options `base_platform` can take after delivery.
pub fn after_delivery(base_platform: &str) -> impl Iterator<Item = &'static AddOn> {
    AFTER_DELIVERY.iter().filter(move |add_on| add_on.platforms.contains(&base_platform))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_delivery_options_name_real_options_and_conflict_both_ways() {
        let known = |code: &str| {
            AFTER_DELIVERY.iter().any(|a| a.code == code) || OPTION_PRICES.iter().any(|(id, _)| *id == code)
        };
        for add_on in AFTER_DELIVERY {
            assert!(caas_protocol::options::OptionCode::parse(add_on.code).is_ok(), "{}", add_on.code);
            for other in add_on.requires.iter().chain(add_on.conflicts_with) {
                assert!(known(other), "{} names {other}", add_on.code);
            }
            for other in add_on.conflicts_with {
                if let Some(back) = AFTER_DELIVERY.iter().find(|a| a.code == *other) {
                    assert!(back.conflicts_with.contains(&add_on.code), "{other} / {}", add_on.code);
                }
            }
        }
    }

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
