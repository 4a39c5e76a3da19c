//! A new sale, as a dealership registers it: the customer, the car (model and factory options) and
//! the dealership, which gives the country and the delivery locality. The sale goes through the
//! dealership API's own code ([`crate::platform::sales::register`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use caas_protocol::api::{CustomerDetails, RegisterSaleRequest, RegistrationDetails, VehicleConfiguration};
use maud::{Markup, html};

use super::form::{Field, Form};
use super::labels;
use super::orders::order_path;
use super::page::{self, Failure, Flash, Notice, Section};
use super::session::Signed;
use crate::catalogue::{BASE_PLATFORMS, DEALERSHIPS};
use crate::platform::{AppState, sales};

/// The most factory options a sale takes from the form (a model has at most six).
const MAX_OPTIONS: usize = 16;

const EMAIL: Field = Field { name: "email", label: "Email", api: &["email", "customer.email"] };
const NAME: Field = Field { name: "name", label: "Name", api: &["customer.name"] };
const PHONE: Field = Field { name: "phone", label: "Phone", api: &["customer.phone"] };
const NATIONAL_ID: Field =
    Field { name: "national_id", label: "National ID", api: &["customer.registration.national_id"] };
const TAX_NUMBER: Field = Field { name: "tax_number", label: "Tax number", api: &["customer.registration.tax_number"] };
const ADDRESS: Field =
    Field { name: "address", label: "Address for the registration", api: &["customer.registration.address"] };
const MODEL: Field = Field { name: "model", label: "Model", api: &["configuration.base_platform"] };
const OPTION: Field =
    Field { name: "option", label: "Factory options", api: &["configuration.options", "configuration.options[]"] };
const DEALERSHIP: Field =
    Field { name: "dealership", label: "Sold by", api: &["delivery_locality", "country", "customer.country"] };
/// Every field of the form, for the refusals that name them.
const FIELDS: [Field; 9] = [EMAIL, NAME, PHONE, NATIONAL_ID, TAX_NUMBER, ADDRESS, MODEL, OPTION, DEALERSHIP];

/// What was typed into the form, kept to show it again beside a refusal.
#[derive(Debug, Default)]
struct Draft {
    email: String,
    name: String,
    phone: String,
    national_id: String,
    tax_number: String,
    address: String,
    dealership: String,
    model: String,
    options: Vec<String>,
}

impl Draft {
    /// What was typed, and the first thing in it that cannot be read: a field that cannot be
    /// read is kept as typed (cut to its bound), so the form shows everything again.
    fn read(form: &Form) -> (Self, Option<String>) {
        let mut problem = None;
        let mut take = |field: Field, max| match form.optional(field, max) {
            Ok(value) => value.unwrap_or_default(),
            Err(why) => {
                problem.get_or_insert(why);
                form.as_typed(field, max)
            }
        };
        let mut draft = Self {
            email: take(EMAIL, 254),
            name: take(NAME, 120),
            phone: take(PHONE, 32),
            national_id: take(NATIONAL_ID, 32),
            tax_number: take(TAX_NUMBER, 32),
            address: take(ADDRESS, 200),
            dealership: take(DEALERSHIP, 64),
            model: take(MODEL, 64),
            options: Vec::new(),
        };
        draft.options = match form.all(OPTION, 64) {
            Ok(options) if options.len() <= MAX_OPTIONS => options,
            Ok(_) => {
                problem.get_or_insert(format!("Tick at most {MAX_OPTIONS} factory options."));
                form.all_as_typed(OPTION, 64).into_iter().take(MAX_OPTIONS).collect()
            }
            Err(why) => {
                problem.get_or_insert(why);
                form.all_as_typed(OPTION, 64)
            }
        };
        (draft, problem)
    }

    /// The sale the draft describes, or what is missing in words.
    fn sale(&self) -> Result<(&'static str, RegisterSaleRequest), String> {
        for (value, field) in [(&self.email, EMAIL), (&self.name, NAME)] {
            if value.is_empty() {
                return Err(format!("Fill in “{}”.", field.label));
            }
        }
        let dealership =
            DEALERSHIPS.iter().find(|d| d.id == self.dealership).ok_or("Choose one of the dealerships.")?;
        let model = BASE_PLATFORMS.iter().find(|p| p.id == self.model).ok_or("Choose one of the models.")?;
        let given = |text: &String| (!text.is_empty()).then(|| text.clone());
        let sale = RegisterSaleRequest {
            customer: CustomerDetails {
                email: self.email.clone(),
                name: self.name.clone(),
                country: dealership.country.to_owned(),
                phone: given(&self.phone),
                registration: RegistrationDetails {
                    national_id: given(&self.national_id),
                    tax_number: given(&self.tax_number),
                    address: given(&self.address),
                },
            },
            configuration: VehicleConfiguration { base_platform: model.id.to_owned(), options: self.options.clone() },
            delivery_locality: dealership.locality.to_owned(),
        };
        Ok((dealership.id, sale))
    }
}

/// The new sale form.
pub async fn form(State(state): State<AppState>, _: Signed, flash: Flash) -> Result<Response, Failure> {
    let draft = Draft { model: "urban-ev".into(), dealership: "madrid-centro".into(), ..Draft::default() };
    page::render(&state, Section::NewSale, "New sale", flash, None, sale_form(&draft))
}

/// Registers the sale and opens its order; a refusal shows the form again as it was typed.
pub async fn register(State(state): State<AppState>, signed: Signed, form: Form) -> Result<Response, Failure> {
    let refused = |draft: &Draft, text: String| -> Result<Response, Failure> {
        let mut response = page::render(
            &state,
            Section::NewSale,
            "New sale",
            Flash(Some(Notice::error(text))),
            None,
            sale_form(draft),
        )?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(response)
    };
    let (draft, problem) = Draft::read(&form);
    if let Some(problem) = problem {
        return refused(&draft, problem);
    }
    let (dealership, sale) = match draft.sale() {
        Ok(sale) => sale,
        Err(problem) => return refused(&draft, problem),
    };
    match sales::register(&state, dealership, &sale).await {
        Ok(view) => {
            let notice = Notice::ok(format!("Sale registered for {}.", sale.customer.email));
            Ok(page::after(&signed, &order_path(view.id), notice).into_response())
        }
        Err(refusal) => refused(&draft, format!("The sale was refused: {}", labels::refusal(&refusal, &FIELDS))),
    }
}

fn sale_form(draft: &Draft) -> Markup {
    let mut options: Vec<&str> = BASE_PLATFORMS.iter().flat_map(|p| p.options.iter().copied()).collect();
    options.sort_unstable();
    options.dedup();
    html! {
        h1 { "New sale" }
        form.card #new-sale method="post" action="/sandbox/sales" {
            h2 { "Customer" }
            label { (EMAIL.label) input type="email" name=(EMAIL.name) required maxlength="254" value=(draft.email); }
            label { (NAME.label) input type="text" name=(NAME.name) required maxlength="120" value=(draft.name); }
            label {
                (PHONE.label) " " span.muted { "(E.164, optional)" }
                input type="tel" name=(PHONE.name) maxlength="32" placeholder="+34600123456" value=(draft.phone);
            }
            label {
                (NATIONAL_ID.label) " " span.muted { "(Spain: DNI/NIE)" }
                input type="text" name=(NATIONAL_ID.name) maxlength="32" placeholder="12345678Z" value=(draft.national_id);
            }
            label {
                (TAX_NUMBER.label) " " span.muted { "(Portugal: NIF)" }
                input type="text" name=(TAX_NUMBER.name) maxlength="32" value=(draft.tax_number);
            }
            label {
                (ADDRESS.label)
                input type="text" name=(ADDRESS.name) maxlength="200" placeholder="Calle Mayor 1, 28013 Madrid" value=(draft.address);
            }
            h2 { "Car" }
            label {
                (MODEL.label)
                select name=(MODEL.name) {
                    @for platform in BASE_PLATFORMS {
                        option value=(platform.id) selected[draft.model == platform.id] { (platform.name) }
                    }
                }
            }
            fieldset {
                legend { (OPTION.label) " " span.muted { "(each model offers some; the factory refuses the others)" } }
                @for option in &options {
                    label.check {
                        input type="checkbox" name=(OPTION.name) value=(option) checked[draft.options.iter().any(|o| o == option)];
                        (labels::option(option))
                    }
                }
            }
            h2 { "Dealership" }
            label {
                (DEALERSHIP.label) " " span.muted { "(the customer's country and the delivery locality follow)" }
                select name=(DEALERSHIP.name) {
                    @for dealership in DEALERSHIPS {
                        option value=(dealership.id) selected[draft.dealership == dealership.id] {
                            (dealership.name) " (" (dealership.locality) ")"
                        }
                    }
                }
            }
            button type="submit" { "Register the sale" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_that_cannot_be_read_comes_back_as_typed() {
        let long_name = "N".repeat(200);
        let body = format!("email=ana%40example.com&name={long_name}&phone=%2B34600&option=heat-pump&model=urban-ev");
        let (draft, problem) = Draft::read(&Form::parse(body.as_bytes()).expect("form"));
        assert_eq!(problem.as_deref(), Some("“Name” is longer than 120 characters."));
        assert_eq!(
            (draft.email.as_str(), draft.phone.as_str(), draft.model.as_str()),
            ("ana@example.com", "+34600", "urban-ev"),
            "the rest as typed"
        );
        assert_eq!(draft.name.chars().count(), 120, "the long one as typed, cut to its bound");
        assert_eq!(draft.options, ["heat-pump"]);
        let page = sale_form(&draft).into_string();
        assert!(page.contains("value=\"ana@example.com\"") && page.contains("checked"), "shown again");
    }
}
