//! What a person reads about an order, in their language: the sentence for each event (the
//! phone's notifications, the platform's emails and SMS) and the words for each state.
//!
//! One catalogue serves the phone and the platform so a customer reads the same words in a push
//! and in a mail. It is plain Rust rather than a message-format runtime: each event and state is a
//! `match` arm holding its three sentences, so a new event or state does not compile until every
//! language has its words, and nothing is parsed at run time on the phone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::api::{EventKind, Money};
use crate::arrival::EtaReason;
use crate::delivery::{CallOutcome, IncidentKind};
use crate::lifecycle::OrderState;
use crate::maintenance::{BookingReason, WarningCode};
use crate::options::OptionCode;

/// The languages the customers of the platform read: Spain, Portugal, and English for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    Spanish,
    Portuguese,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::English, Language::Spanish, Language::Portuguese];

    /// The language of the phone's locales as the phones name them: BCP 47 (`pt-PT`, `es-419`)
    /// or POSIX (`es_ES.UTF-8`), one tag or the person's preference list separated by commas.
    /// The first one the app speaks wins, as the phones pick an app's own texts: a Catalan
    /// speaker in Spain whose list is `ca-ES,es-ES` reads Spanish, as in the app's screens.
    /// Nothing the app speaks, including an empty list, reads as English.
    pub fn from_locale(tags: &str) -> Language {
        tags.split(',').find_map(|tag| Self::spoken(tag.trim())).unwrap_or(Language::English)
    }

    fn spoken(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_', '.', '@']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "es" => Some(Language::Spanish),
            "pt" => Some(Language::Portuguese),
            "en" => Some(Language::English),
            _ => None,
        }
    }

    /// The language of a customer's country of residence (ISO 3166-1 alpha-2), for messages the
    /// platform writes without a phone to ask.
    pub fn of_country(country: &str) -> Language {
        match country.to_ascii_uppercase().as_str() {
            "ES" => Language::Spanish,
            "PT" => Language::Portuguese,
            _ => Language::English,
        }
    }

    /// The language's BCP 47 primary tag.
    pub fn tag(self) -> &'static str {
        self.pick("en", "es", "pt")
    }

    fn pick(self, english: &'static str, spanish: &'static str, portuguese: &'static str) -> &'static str {
        match self {
            Language::English => english,
            Language::Spanish => spanish,
            Language::Portuguese => portuguese,
        }
    }
}

/// Where a reader's times are written: their time zone (daylight saving included, so a delivery
/// after the clocks change still reads right), their offset from UTC now when the zone is not one
/// this build knows, or UTC, labelled, when the writer does not know where the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Zone(Tz),
    Offset(FixedOffset),
    Utc,
}

/// A reader's language and clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub language: Language,
    clock: Clock,
}

/// The largest offset from UTC of any time zone, in minutes (UTC+14).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

impl Reader {
    /// A phone's reader: its locale, its time zone (IANA, e.g. `Europe/Madrid`) and its current
    /// offset from UTC in minutes, used when the zone is not one this build knows. An offset
    /// beyond any real time zone reads as UTC, labelled.
    pub fn on_phone(locale: &str, time_zone: &str, utc_offset_minutes: i32) -> Reader {
        let clock = match time_zone.parse::<Tz>() {
            Ok(zone) => Clock::Zone(zone),
            Err(_) if utc_offset_minutes.unsigned_abs() <= MAX_UTC_OFFSET_MINUTES.unsigned_abs() => {
                FixedOffset::east_opt(utc_offset_minutes * 60).map_or(Clock::Utc, Clock::Offset)
            }
            Err(_) => Clock::Utc,
        };
        Reader { language: Language::from_locale(locale), clock }
    }

    /// A reader the platform writes to without a phone to ask: in the main time zone of their
    /// country of residence (Spain, Portugal), else in UTC, labelled.
    pub fn of_country(country: &str) -> Reader {
        let clock = match country.to_ascii_uppercase().as_str() {
            "ES" => Clock::Zone(chrono_tz::Europe::Madrid),
            "PT" => Clock::Zone(chrono_tz::Europe::Lisbon),
            _ => Clock::Utc,
        };
        Reader { language: Language::of_country(country), clock }
    }

    /// A reader whose clock is unknown: times are written in UTC and say so.
    pub fn in_utc(language: Language) -> Reader {
        Reader { language, clock: Clock::Utc }
    }

    fn pick(&self, english: &'static str, spanish: &'static str, portuguese: &'static str) -> &'static str {
        self.language.pick(english, spanish, portuguese)
    }

    fn date(&self, day: NaiveDate) -> String {
        match self.language {
            Language::English => day.format("%-d %b %Y").to_string(),
            Language::Spanish | Language::Portuguese => day.format("%d/%m/%Y").to_string(),
        }
    }

    /// The reader's own date and time of an instant.
    fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        match self.clock {
            Clock::Zone(zone) => at.with_timezone(&zone).naive_local(),
            Clock::Offset(offset) => at.with_timezone(&offset).naive_local(),
            Clock::Utc => at.naive_utc(),
        }
    }

    fn time(&self, at: DateTime<Utc>) -> String {
        let time = self.local(at).format("%H:%M").to_string();
        if self.clock == Clock::Utc { format!("{time} UTC") } else { time }
    }

    fn local_date(&self, at: DateTime<Utc>) -> String {
        self.date(self.local(at).date())
    }

    fn date_time(&self, at: DateTime<Utc>) -> String {
        format!("{} {}", self.local_date(at), self.time(at))
    }

    /// `€21,340.00` in English, `21.340,00 €` in Spanish, `21 340,00 €` in Portuguese; a currency
    /// without a sign of its own is written by its code.
    pub fn money(&self, money: &Money) -> String {
        let abs = money.amount_minor.unsigned_abs();
        let (whole, cents) = (abs / 100, abs % 100);
        let separator = self.pick(",", ".", "\u{a0}");
        let mut grouped = String::new();
        for (i, digit) in whole.to_string().chars().enumerate() {
            let left = whole.to_string().len() - i;
            if i > 0 && left % 3 == 0 {
                grouped.push_str(separator);
            }
            grouped.push(digit);
        }
        let sign = if money.amount_minor < 0 { "-" } else { "" };
        let symbol = if money.currency == "EUR" { "€" } else { money.currency.as_str() };
        match self.language {
            Language::English if symbol == "€" => format!("{sign}€{grouped}.{cents:02}"),
            Language::English => format!("{sign}{grouped}.{cents:02} {symbol}"),
            Language::Spanish | Language::Portuguese => format!("{sign}{grouped},{cents:02}\u{a0}{symbol}"),
        }
    }
}

/// The longest piece of the platform's free text (a reason, a name, an address) a sentence quotes.
const MAX_QUOTED_CHARS: usize = 160;

/// The platform's free text as a sentence quotes it: one line, no control or direction-changing
/// characters, no closing full stop of its own (the sentence has one), and bounded.
fn quoted(text: &str) -> String {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || is_hidden(c)).filter(|word| !word.is_empty()).collect();
    let line = words.join(" ");
    let line = line.trim_end_matches('.');
    match line.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Whether `c` changes how text around it reads without being seen: control characters, bidi
/// overrides and isolates, zero-width characters and line or paragraph separators.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// Fills the `{name}` placeholders of a catalogue sentence in one pass, so a value from the platform
/// that happens to hold `{…}` is written as it is, never filled in turn.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| values.iter().find(|(name, _)| *name == &after[..close]).map(|v| (close, v)))
        {
            Some((close, (_, value))) => {
                text.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                text.push('{');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text
}

/// Why an expected arrival moved, in words.
pub fn eta_reason_label(reason: EtaReason, language: Language) -> &'static str {
    match reason {
        EtaReason::Departure => language.pick("the driver set out", "el conductor ha salido", "o motorista partiu"),
        EtaReason::StopCompleted => language.pick(
            "a stop before yours is done",
            "ha terminado una parada anterior",
            "terminou uma paragem anterior",
        ),
        EtaReason::Traffic => language.pick("traffic", "tráfico", "trânsito"),
        EtaReason::Weather => language.pick("the weather", "el tiempo", "o tempo"),
        EtaReason::LongerStop => language.pick(
            "a stop before yours took longer",
            "una parada anterior se alargó",
            "uma paragem anterior demorou mais",
        ),
        EtaReason::Unknown => {
            language.pick("a change on the way", "un cambio en el trayecto", "uma alteração no trajeto")
        }
    }
}

/// What stopped a car on the way, in words.
pub fn incident_label(kind: IncidentKind, language: Language) -> &'static str {
    match kind {
        IncidentKind::Breakdown => language.pick("a breakdown", "una avería", "uma avaria"),
        IncidentKind::Damage => language.pick("damage on the way", "daños en el trayecto", "danos no trajeto"),
        IncidentKind::RoadClosed => {
            language.pick("the road is closed", "la carretera está cortada", "a estrada está cortada")
        }
        IncidentKind::Unknown => {
            language.pick("an incident on the way", "un incidente en el trayecto", "um incidente no trajeto")
        }
    }
}

/// The words for a state, as a customer reads them in a list or a timeline.
pub fn state_label(state: OrderState, language: Language) -> &'static str {
    use OrderState::*;
    let (en, es, pt) = match state {
        SaleRegistered => ("Order registered", "Pedido registrado", "Encomenda registada"),
        ReservationPaid => ("Reservation paid", "Reserva pagada", "Reserva paga"),
        OrderPlaced => ("Ordered from the factory", "Pedido a fábrica", "Encomendado à fábrica"),
        InProduction => ("In production", "En producción", "Em produção"),
        Assembly => ("Being assembled", "En montaje", "Em montagem"),
        QualityControl => ("Quality control", "Control de calidad", "Controlo de qualidade"),
        ManufacturingComplete => ("Built", "Fabricado", "Fabricado"),
        DispatchedToLocality => ("On its way to your area", "De camino a tu zona", "A caminho da sua zona"),
        AwaitingFinalPayment => ("Awaiting final payment", "Pendiente del pago final", "A aguardar o pagamento final"),
        Unassigned => ("Reservation lost", "Reserva perdida", "Reserva perdida"),
        DealershipStock => ("In dealership stock", "En stock del concesionario", "Em stock no concessionário"),
        AdministrativeRegistration => ("Being registered", "En matriculación", "Em processo de matrícula"),
        Registered => ("Registered", "Matriculado", "Matriculado"),
        TransportScheduled => ("Delivery booked", "Entrega programada", "Entrega agendada"),
        InTransit => ("On its way to you", "De camino a ti", "A caminho de si"),
        AtCustomerAddress => ("At your address", "En tu dirección", "Na sua morada"),
        DeliveryRescheduled => ("Delivery rebooked", "Entrega reprogramada", "Entrega reagendada"),
        ReturnedToDealership => ("Back to the dealership", "De vuelta al concesionario", "De volta ao concessionário"),
        HeldAtDealership => {
            ("Waiting at the dealership", "Esperando en el concesionario", "À espera no concessionário")
        }
        Delivered => ("Delivered", "Entregado", "Entregue"),
        AppLinked => ("Linked to the app", "Vinculado a la app", "Ligado à app"),
        Operational => ("Ready to drive", "Listo para conducir", "Pronto a conduzir"),
        Unknown => (
            "Updated (update the app to see more)",
            "Actualizado (actualiza la app para ver más)",
            "Atualizado (atualize a app para ver mais)",
        ),
    };
    language.pick(en, es, pt)
}

/// The title of a notification about a car: its model once known, else a generic one.
pub fn car_title(base_platform: Option<&str>, language: Language) -> String {
    match base_platform.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => name.to_owned(),
        None => language.pick("Your car", "Tu coche", "O seu carro").to_owned(),
    }
}

/// The sentence for an event of an order, as its customer reads it.
pub fn event_sentence(kind: &EventKind, reader: &Reader) -> String {
    let r = reader;
    match kind {
        EventKind::StateChanged { to, .. } => state_sentence(*to, r),
        EventKind::EstimateRevised { estimated_completion, reason } => fill(
            r.pick(
                "The factory now expects your car on {date} ({reason}). This is an estimate, not a promise.",
                "La fábrica prevé ahora tu coche para el {date} ({reason}). Es una estimación, no un compromiso.",
                "A fábrica prevê agora o seu carro para {date} ({reason}). É uma estimativa, não um compromisso.",
            ),
            &[("date", r.date(*estimated_completion)), ("reason", quoted(reason))],
        ),
        EventKind::ConfigurationRejected { reason, .. } => fill(
            r.pick(
                "The factory could not accept your car's configuration: {reason}. Your dealership will contact you.",
                "La fábrica no pudo aceptar la configuración de tu coche: {reason}. Tu concesionario se pondrá en contacto contigo.",
                "A fábrica não pôde aceitar a configuração do seu carro: {reason}. O seu concessionário entrará em contacto consigo.",
            ),
            &[("reason", quoted(reason))],
        ),
        EventKind::FinalPaymentRequested { amount_due, deadline } => fill(
            r.pick(
                "Your car is ready. Please pay the remaining {amount} before {deadline}; after that the reservation is lost.",
                "Tu coche está listo. Paga los {amount} restantes antes del {deadline}; después se pierde la reserva.",
                "O seu carro está pronto. Pague os {amount} em falta até {deadline}; depois disso a reserva perde-se.",
            ),
            &[("amount", r.money(amount_due)), ("deadline", r.date_time(*deadline))],
        ),
        EventKind::PaymentReminder { amount_due, deadline } => fill(
            r.pick(
                "Reminder: {amount} is still due for your car. The deadline is {deadline}.",
                "Recordatorio: aún quedan {amount} por pagar de tu coche. El plazo termina el {deadline}.",
                "Lembrete: ainda falta pagar {amount} do seu carro. O prazo termina a {deadline}.",
            ),
            &[("amount", r.money(amount_due)), ("deadline", r.date_time(*deadline))],
        ),
        EventKind::RegistrationBlocked { reason, fix, .. } => fill(
            r.pick(
                "Your car's registration is on hold: {reason}. Next step: {fix}.",
                "La matriculación de tu coche está en espera: {reason}. Siguiente paso: {fix}.",
                "A matrícula do seu carro está suspensa: {reason}. Próximo passo: {fix}.",
            ),
            &[("reason", quoted(reason)), ("fix", quoted(fix))],
        ),
        EventKind::DeliveryScheduled { window, company, .. } => fill(
            r.pick(
                "Your car will be delivered by {company} on {day} between {start} and {end}.",
                "{company} entregará tu coche el {day} entre las {start} y las {end}.",
                "O seu carro será entregue por {company} a {day}, entre as {start} e as {end}.",
            ),
            &[
                ("company", quoted(company)),
                ("day", r.local_date(window.start)),
                ("start", r.time(window.start)),
                ("end", r.time(window.end)),
            ],
        ),
        EventKind::DeliveryAddressConfirmed => r
            .pick(
                "Thank you: the delivery address is confirmed.",
                "Gracias: la dirección de entrega está confirmada.",
                "Obrigado: a morada de entrega está confirmada.",
            )
            .to_owned(),
        EventKind::Embarked { custody, .. } => fill(
            r.pick("{party} has loaded your car.", "{party} ha cargado tu coche.", "{party} carregou o seu carro."),
            &[("party", quoted(&custody.party))],
        ),
        EventKind::CustomerAbsent { call: CallOutcome::Rescheduled { .. }, .. } => r
            .pick(
                "We missed you; the driver has booked the new time you agreed.",
                "No te encontramos; el conductor ha reservado la nueva hora que acordasteis.",
                "O motorista não conseguiu entregar o carro; marcou a nova hora que combinaram.",
            )
            .to_owned(),
        EventKind::CustomerAbsent { .. } => r
            .pick(
                "We missed you and could not agree a new time; your car returns to the dealership.",
                "No te encontramos ni pudimos acordar otra hora; tu coche vuelve al concesionario.",
                "O motorista não conseguiu entregar o carro nem combinar outra hora; o seu carro volta ao concessionário.",
            )
            .to_owned(),
        EventKind::TransitIncident { incident, .. } => {
            let what = fill(
                r.pick(
                    "Your car could not reach you: {kind}. It is going back to the dealership with the driver; we will tell you where and when to collect it.",
                    "Tu coche no ha podido llegar: {kind}. Vuelve al concesionario con el conductor; te diremos dónde y cuándo recogerlo.",
                    "O seu carro não conseguiu chegar: {kind}. Volta ao concessionário com o motorista; diremos onde e quando o levantar.",
                ),
                &[("kind", incident_label(incident.kind, r.language).to_owned())],
            );
            match &incident.note {
                Some(note) => fill(
                    r.pick("{what} The driver says: {note}", "{what} El conductor dice: {note}", "{what} O motorista diz: {note}"),
                    &[("what", what), ("note", quoted(note))],
                ),
                None => what,
            }
        }
        EventKind::ArrivalEstimated { estimate, .. } => {
            let time = r.time(estimate.expected_at);
            let template = match (estimate.stops_before, estimate.reason) {
                (1, _) => r.pick(
                    "The driver is one stop away: your car is expected at {time}.",
                    "El conductor está a una parada: tu coche llegará hacia las {time}.",
                    "O motorista está a uma paragem: o seu carro deve chegar por volta das {time}.",
                ),
                (_, EtaReason::Departure) => r.pick(
                    "Your car is on its way: it is expected at {time}.",
                    "Tu coche está en camino: llegará hacia las {time}.",
                    "O seu carro está a caminho: deve chegar por volta das {time}.",
                ),
                _ => r.pick(
                    "Your car is now expected at {time} ({reason}).",
                    "Ahora tu coche llegará hacia las {time} ({reason}).",
                    "O seu carro deve agora chegar por volta das {time} ({reason}).",
                ),
            };
            fill(template, &[("time", time), ("reason", eta_reason_label(estimate.reason, r.language).to_owned())])
        }
        EventKind::ReceivedAtDealership { custody } => fill(
            r.pick(
                "Your car is back at the dealership ({party}).",
                "Tu coche está de vuelta en el concesionario ({party}).",
                "O seu carro está de volta ao concessionário ({party}).",
            ),
            &[("party", quoted(&custody.party))],
        ),
        EventKind::PickupRequired { pickup } => fill(
            r.pick(
                "Please collect your car at {dealership}, {address} ({hours}). Bring your phone to show the handover code.",
                "Recoge tu coche en {dealership}, {address} ({hours}). Trae tu móvil para mostrar el código de entrega.",
                "Levante o seu carro em {dealership}, {address} ({hours}). Traga o telemóvel para mostrar o código de entrega.",
            ),
            &[
                ("dealership", quoted(&pickup.dealership)),
                ("address", quoted(&pickup.address)),
                ("hours", quoted(&pickup.opening_hours)),
            ],
        ),
        EventKind::HandedOver { handover } => fill(
            r.pick(
                "Your car was handed over to you ({by}). Enjoy it!",
                "Te hemos entregado tu coche ({by}). ¡Que lo disfrutes!",
                "O seu carro foi-lhe entregue ({by}). Boa viagem!",
            ),
            &[("by", quoted(&handover.by))],
        ),
        EventKind::KeyIssued { not_after, .. } => fill(
            r.pick(
                "A phone key for your car was issued, valid until {day}. If you did not pair a phone, contact your dealership.",
                "Se ha emitido una llave móvil para tu coche, válida hasta el {day}. Si no has vinculado ningún móvil, contacta con tu concesionario.",
                "Foi emitida uma chave de telemóvel para o seu carro, válida até {day}. Se não emparelhou nenhum telemóvel, contacte o seu concessionário.",
            ),
            &[("day", r.local_date(*not_after))],
        ),
        EventKind::KeyRevoked { .. } => r
            .pick(
                "A phone key for your car was revoked; the car no longer accepts it.",
                "Se ha revocado una llave móvil de tu coche; el coche ya no la acepta.",
                "Foi revogada uma chave de telemóvel do seu carro; o carro já não a aceita.",
            )
            .to_owned(),
        EventKind::AppLinked { .. } => r
            .pick(
                "Your phone is linked to your car. It is ready to use.",
                "Tu móvil está vinculado a tu coche. Ya puedes usarlo.",
                "O seu telemóvel está ligado ao seu carro. Já pode usá-lo.",
            )
            .to_owned(),
        EventKind::PaymentRefunded { amount, reason, .. } => fill(
            r.pick(
                "A charge of {amount} was refunded to your card: {reason}.",
                "Se ha devuelto a tu tarjeta un cargo de {amount}: {reason}.",
                "Foi reembolsada no seu cartão uma cobrança de {amount}: {reason}.",
            ),
            &[("amount", r.money(amount)), ("reason", quoted(reason))],
        ),
        EventKind::HandoverDisputed { .. } => r
            .pick(
                "We received your dispute of the handover. Your dealership is looking into it and will contact you.",
                "Hemos recibido tu reclamación sobre la entrega. Tu concesionario la está revisando y se pondrá en contacto contigo.",
                "Recebemos a sua reclamação sobre a entrega. O seu concessionário está a analisá-la e entrará em contacto consigo.",
            )
            .to_owned(),
        EventKind::OptionPurchased { option, amount, activate_by, .. } => fill(
            r.pick(
                "You bought {option} for {amount}. It switches on when your car receives it, by {deadline}; otherwise it is refunded.",
                "Has comprado {option} por {amount}. Se activa cuando tu coche lo reciba, antes del {deadline}; si no, se te devuelve el importe.",
                "Comprou {option} por {amount}. Fica ativo quando o seu carro o receber, até {deadline}; caso contrário, é reembolsado.",
            ),
            &[("option", option_words(option, r.language)), ("amount", r.money(amount)), ("deadline", r.time(*activate_by))],
        ),
        EventKind::OptionActivated { option, .. } => fill(
            r.pick(
                "{option} is now active on your car.",
                "{option} ya está activo en tu coche.",
                "{option} já está ativo no seu carro.",
            ),
            &[("option", capitalized(&option_words(option, r.language)))],
        ),
        EventKind::OptionRefunded { option, amount, .. } => fill(
            r.pick(
                "Your car could not receive {option} in time, so {amount} was refunded to your card.",
                "Tu coche no pudo recibir {option} a tiempo, así que se han devuelto {amount} a tu tarjeta.",
                "O seu carro não conseguiu receber {option} a tempo, por isso {amount} foram reembolsados no seu cartão.",
            ),
            &[("option", option_words(option, r.language)), ("amount", r.money(amount))],
        ),
        EventKind::ServiceDue { next_service } => fill(
            r.pick(
                "Your car's service is due at {km} km or by {date}, whichever comes first. Book a slot at your dealership's workshop in the app.",
                "La revisión de tu coche toca a los {km} km o antes del {date}, lo que llegue antes. Reserva cita en el taller de tu concesionario desde la app.",
                "A revisão do seu carro é aos {km} km ou até {date}, o que chegar primeiro. Marque na oficina do seu concessionário na app.",
            ),
            &[("km", next_service.due_km.to_string()), ("date", r.date(next_service.due_by))],
        ),
        EventKind::VehicleWarning { warnings } => fill(
            r.pick(
                "Your car reports: {warnings}. Book a service if it persists.",
                "Tu coche avisa: {warnings}. Reserva una revisión si continúa.",
                "O seu carro avisa: {warnings}. Marque uma revisão se continuar.",
            ),
            &[(
                "warnings",
                warnings.iter().map(|w| warning_label(*w, r.language)).collect::<Vec<_>>().join(", "),
            )],
        ),
        EventKind::ServiceBooked { start, reason, .. } => fill(
            match reason {
                BookingReason::Moved => r.pick(
                    "Your service at the workshop was moved to {time}.",
                    "Tu cita en el taller se ha cambiado al {time}.",
                    "A sua marcação na oficina passou para {time}.",
                ),
                BookingReason::Booked | BookingReason::Unknown => r.pick(
                    "Your service at the workshop is booked for {time}.",
                    "Tu cita en el taller está reservada para el {time}.",
                    "A sua marcação na oficina está feita para {time}.",
                ),
            },
            &[("time", r.time(*start))],
        ),
        EventKind::ServiceCancelled { start } => fill(
            r.pick(
                "Your service at the workshop on {time} is cancelled.",
                "Tu cita en el taller del {time} está cancelada.",
                "A sua marcação na oficina de {time} foi cancelada.",
            ),
            &[("time", r.time(*start))],
        ),
        EventKind::ServiceVisitRecorded { visit } => fill(
            r.pick(
                "The workshop serviced your car at {km} km: {work}.",
                "El taller ha revisado tu coche a los {km} km: {work}.",
                "A oficina fez a revisão do seu carro aos {km} km: {work}.",
            ),
            &[("km", visit.odometer_km.to_string()), ("work", quoted(&visit.work))],
        ),
        EventKind::Unknown(_) => update_sentence(r.language).to_owned(),
    }
}

/// The words for a warning of the car.
pub fn warning_label(warning: WarningCode, language: Language) -> &'static str {
    match warning {
        WarningCode::TyrePressure => {
            language.pick("low tyre pressure", "presión de neumáticos baja", "pressão dos pneus baixa")
        }
        WarningCode::BrakeWear => language.pick("brake wear", "desgaste de frenos", "desgaste dos travões"),
        WarningCode::BatteryHealth => language.pick("battery health", "estado de la batería", "estado da bateria"),
        WarningCode::WasherFluid => {
            language.pick("washer fluid low", "líquido limpiaparabrisas bajo", "líquido do limpa-vidros baixo")
        }
        WarningCode::Unknown => language.pick("a warning", "un aviso", "um aviso"),
    }
}

/// The name of an option (fitted at the factory or sold after delivery), in `language`; `None`
/// for one this version does not know (the platform's catalogue then carries the name).
pub fn option_name(option: &OptionCode, language: Language) -> Option<&'static str> {
    let (en, es, pt) = match option.as_str() {
        "heated-seats" => ("heated seats", "asientos calefactados", "bancos aquecidos"),
        "connected-navigation" => ("connected navigation", "navegación conectada", "navegação conectada"),
        "performance-boost" => ("performance boost", "aumento de potencia", "aumento de potência"),
        "eco-range-mode" => ("eco range mode", "modo de autonomía eco", "modo de autonomia eco"),
        "trailer-assist" => ("trailer assist", "asistente de remolque", "assistente de reboque"),
        "tow-hitch" => ("tow hitch", "enganche de remolque", "engate de reboque"),
        "roof-rails" => ("roof rails", "barras de techo", "barras de tejadilho"),
        "heat-pump" => ("heat pump", "bomba de calor", "bomba de calor"),
        "panoramic-roof" => ("panoramic roof", "techo panorámico", "teto panorâmico"),
        "long-range-battery" => ("long-range battery", "batería de gran autonomía", "bateria de longa autonomia"),
        "sport-suspension" => ("sport suspension", "suspensión deportiva", "suspensão desportiva"),
        "third-row-seats" => ("third row of seats", "tercera fila de asientos", "terceira fila de bancos"),
        _ => return None,
    };
    Some(language.pick(en, es, pt))
}

/// An option's words inside a sentence: its name, or "an option" for one this version does not know.
pub fn option_words(option: &OptionCode, language: Language) -> String {
    option_name(option, language).unwrap_or_else(|| language.pick("an option", "una opción", "uma opção")).to_owned()
}

/// The text with its first letter in capitals, for a name that starts a sentence.
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The subject of the platform's mails about an order.
pub fn mail_subject(language: Language) -> &'static str {
    language.pick("Your car order", "Tu pedido de coche", "A sua encomenda de carro")
}

/// A sentence for an update this version cannot describe, or one it could not fetch in time.
pub fn update_sentence(language: Language) -> &'static str {
    language.pick(
        "There is an update on your order; open the app to see it.",
        "Hay novedades en tu pedido; abre la app para verlas.",
        "Há novidades na sua encomenda; abra a app para as ver.",
    )
}

fn state_sentence(state: OrderState, r: &Reader) -> String {
    match state {
        OrderState::Unassigned => r
            .pick(
                "The final payment was not made before its deadline: your reservation is lost and the car returns to the dealership's stock.",
                "El pago final no se hizo antes del plazo: has perdido la reserva y el coche vuelve al stock del concesionario.",
                "O pagamento final não foi feito dentro do prazo: a reserva perdeu-se e o carro volta ao stock do concessionário.",
            )
            .to_owned(),
        OrderState::InTransit => r
            .pick(
                "Your car is on its way. Have your handover code ready when the driver arrives.",
                "Tu coche está de camino. Ten preparado tu código de entrega cuando llegue el conductor.",
                "O seu carro está a caminho. Tenha o código de entrega pronto quando o motorista chegar.",
            )
            .to_owned(),
        OrderState::AtCustomerAddress => r
            .pick(
                "The driver is at your address with your car. Show your handover code to take it.",
                "El conductor está en tu dirección con tu coche. Muestra tu código de entrega para recogerlo.",
                "O motorista está na sua morada com o seu carro. Mostre o código de entrega para o receber.",
            )
            .to_owned(),
        other => fill(
            r.pick("Your order is now: {state}.", "Tu pedido ahora está: {state}.", "A sua encomenda está agora: {state}."),
            &[("state", state_label(other, r.language).to_lowercase())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::UnknownEvent;
    use crate::delivery::{Custody, DeliveryWindow, Handover, HandoverPlace, PickupPoint, TransitIncident};
    use crate::lifecycle::Actor;
    use crate::pairing::api::AppLink;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 12, h, 0, 0).single().expect("valid")
    }

    fn eur(minor: i64) -> Money {
        Money { amount_minor: minor, currency: "EUR".into() }
    }

    /// One event of every kind, with text in every free field.
    fn every_kind() -> Vec<EventKind> {
        let custody = Custody { at: at(9), party: "Iberia Car Carriers".into() };
        vec![
            EventKind::StateChanged { from: None, to: OrderState::InProduction, by: Actor::Factory },
            EventKind::StateChanged { from: None, to: OrderState::InTransit, by: Actor::Driver },
            EventKind::StateChanged { from: None, to: OrderState::AtCustomerAddress, by: Actor::Driver },
            EventKind::StateChanged { from: None, to: OrderState::Unassigned, by: Actor::Platform },
            EventKind::EstimateRevised {
                estimated_completion: NaiveDate::from_ymd_opt(2026, 4, 1).expect("date"),
                reason: "parts".into(),
            },
            EventKind::ConfigurationRejected { code: "x".into(), reason: "paint".into() },
            EventKind::FinalPaymentRequested { amount_due: eur(2_134_000), deadline: at(18) },
            EventKind::PaymentReminder { amount_due: eur(2_134_000), deadline: at(18) },
            EventKind::RegistrationBlocked { code: "x".into(), reason: "id".into(), fix: "call".into() },
            EventKind::DeliveryScheduled {
                attempt: 1,
                window: DeliveryWindow { start: at(14), end: at(16) },
                company: "Iberia Car Carriers".into(),
                reason: crate::api::ScheduleReason::Booked,
            },
            EventKind::DeliveryAddressConfirmed,
            EventKind::Embarked { attempt: 1, custody: custody.clone() },
            EventKind::CustomerAbsent { attempt: 1, call: CallOutcome::Unreachable },
            EventKind::CustomerAbsent { attempt: 1, call: CallOutcome::Rescheduled { window_start: at(10) } },
            EventKind::TransitIncident {
                attempt: 1,
                incident: TransitIncident {
                    kind: IncidentKind::RoadClosed,
                    note: Some("A-6 closed at km 40".into()),
                    at: at(11),
                    by: "Lucía".into(),
                },
            },
            EventKind::TransitIncident {
                attempt: 1,
                incident: TransitIncident { kind: IncidentKind::Unknown, note: None, at: at(11), by: "Lucía".into() },
            },
            EventKind::ArrivalEstimated {
                attempt: 1,
                estimate: crate::arrival::ArrivalEstimate {
                    expected_at: at(10),
                    stops_before: 2,
                    reason: EtaReason::Departure,
                    at: at(8),
                },
            },
            EventKind::ArrivalEstimated {
                attempt: 1,
                estimate: crate::arrival::ArrivalEstimate {
                    expected_at: at(11),
                    stops_before: 0,
                    reason: EtaReason::Traffic,
                    at: at(9),
                },
            },
            EventKind::ArrivalEstimated {
                attempt: 1,
                estimate: crate::arrival::ArrivalEstimate {
                    expected_at: at(11),
                    stops_before: 1,
                    reason: EtaReason::StopCompleted,
                    at: at(10),
                },
            },
            EventKind::ReceivedAtDealership { custody },
            EventKind::PickupRequired {
                pickup: PickupPoint {
                    dealership: "Madrid".into(),
                    address: "Calle 1".into(),
                    opening_hours: "9-18".into(),
                },
            },
            EventKind::HandedOver {
                handover: Handover { at: at(15), place: HandoverPlace::CustomerAddress, by: "Lucía".into() },
            },
            EventKind::KeyIssued { grant_id: Uuid::nil(), not_after: at(12) },
            EventKind::KeyRevoked { grant_id: Uuid::nil() },
            EventKind::AppLinked { link: AppLink { grant_id: Uuid::nil(), linked_at: at(12) } },
            EventKind::PaymentRefunded { payment_id: "p".into(), amount: eur(100), reason: "paid twice".into() },
            EventKind::HandoverDisputed { reason: "not me".into() },
            EventKind::Unknown(UnknownEvent { type_name: "service_booked".into(), fields: Default::default() }),
        ]
    }

    #[test]
    fn every_event_reads_in_every_language_with_every_placeholder_filled() {
        for kind in every_kind() {
            let mut seen = Vec::new();
            for language in Language::ALL {
                let text = event_sentence(&kind, &Reader::on_phone(language.tag(), "Europe/Madrid", 60));
                assert!(!text.contains('{') && !text.contains('}'), "{language:?}: {text}");
                assert!(!text.contains('_'), "a wire name reached the reader: {text}");
                seen.push(text);
            }
            // Each language has its own words (names inserted alone could make two equal).
            assert_ne!(seen[0], seen[1], "{kind:?}");
            assert_ne!(seen[1], seen[2], "{kind:?}");
        }
    }

    #[test]
    fn every_state_has_words_in_every_language() {
        for state in OrderState::ALL.into_iter().chain([OrderState::Unknown]) {
            for language in Language::ALL {
                let label = state_label(state, language);
                assert!(!label.is_empty() && !label.contains('_'), "{state:?} {language:?}");
            }
            assert_ne!(state_label(state, Language::English), state_label(state, Language::Spanish), "{state:?}");
        }
    }

    #[test]
    fn a_value_holding_braces_is_written_as_it_is() {
        let kind = EventKind::RegistrationBlocked { code: "x".into(), reason: "see {fix}".into(), fix: "call".into() };
        let text = event_sentence(&kind, &Reader::in_utc(Language::English));
        assert_eq!(text, "Your car's registration is on hold: see {fix}. Next step: call.");
    }

    #[test]
    fn locales_name_their_language_in_either_spelling() {
        assert_eq!(Language::from_locale("es-ES"), Language::Spanish);
        assert_eq!(Language::from_locale("es_419"), Language::Spanish);
        assert_eq!(Language::from_locale("pt_PT.UTF-8"), Language::Portuguese);
        assert_eq!(Language::from_locale("PT-br"), Language::Portuguese);
        assert_eq!(Language::from_locale("en-GB"), Language::English);
        assert_eq!(Language::from_locale("fr-FR"), Language::English);
        assert_eq!(Language::from_locale(""), Language::English);
        // A preference list: the first language the app speaks.
        assert_eq!(Language::from_locale("ca-ES,es-ES,en-GB"), Language::Spanish);
        assert_eq!(Language::from_locale("gl-ES, pt-PT"), Language::Portuguese);
        assert_eq!(Language::from_locale("en-GB,es-ES"), Language::English);
        assert_eq!(Language::from_locale("eu-ES,fr-FR"), Language::English);
        assert_eq!(Language::of_country("pt"), Language::Portuguese);
    }

    #[test]
    fn money_is_written_as_each_language_writes_it() {
        let amount = eur(2_134_050);
        assert_eq!(Reader::in_utc(Language::English).money(&amount), "€21,340.50");
        assert_eq!(Reader::in_utc(Language::Spanish).money(&amount), "21.340,50\u{a0}€");
        assert_eq!(Reader::in_utc(Language::Portuguese).money(&amount), "21\u{a0}340,50\u{a0}€");
        assert_eq!(Reader::in_utc(Language::English).money(&eur(-5)), "-€0.05");
        let dollars = Money { amount_minor: 100_000, currency: "USD".into() };
        assert_eq!(Reader::in_utc(Language::English).money(&dollars), "1,000.00 USD");
    }

    fn window_at(start: DateTime<Utc>) -> EventKind {
        EventKind::DeliveryScheduled {
            attempt: 1,
            window: DeliveryWindow { start, end: start + chrono::Duration::hours(2) },
            company: "Iberia".into(),
            reason: crate::api::ScheduleReason::Booked,
        }
    }

    #[test]
    fn times_are_the_readers_own_or_say_utc() {
        let kind = window_at(at(23));
        let madrid = event_sentence(&kind, &Reader::on_phone("es-ES", "Europe/Madrid", 60));
        assert!(madrid.contains("13/03/2026 entre las 00:00 y las 02:00"), "{madrid}");
        let mail = event_sentence(&kind, &Reader::in_utc(Language::English));
        assert!(mail.contains("12 Mar 2026 between 23:00 UTC and 01:00 UTC"), "{mail}");
        // A zone this build does not know: the offset the phone has now.
        let elsewhere = event_sentence(&kind, &Reader::on_phone("en", "America/Bogota", -300));
        assert!(elsewhere.contains("12 Mar 2026 between 18:00 and 20:00"), "{elsewhere}");
        // An offset no time zone has is not trusted, nor one that would overflow.
        for odd in [100_000, i32::MIN, i32::MAX] {
            let text = event_sentence(&kind, &Reader::on_phone("en", "", odd));
            assert!(text.contains("23:00 UTC"), "{text}");
        }
    }

    /// A phone's offset is today's: a delivery after the clocks change is read in the zone's
    /// own offset for that day (review of issue 15).
    #[test]
    fn a_time_after_the_clocks_change_is_read_in_that_days_offset() {
        // Booked in winter (UTC+1) for a day in summer (UTC+2).
        let summer = Utc.with_ymd_and_hms(2026, 4, 2, 12, 0, 0).single().expect("valid");
        let text = event_sentence(&window_at(summer), &Reader::on_phone("es-ES", "Europe/Madrid", 60));
        assert!(text.contains("02/04/2026 entre las 14:00 y las 16:00"), "{text}");
        let lisbon = event_sentence(&window_at(summer), &Reader::of_country("PT"));
        assert!(lisbon.contains("02/04/2026, entre as 13:00 e as 15:00"), "{lisbon}");
    }

    #[test]
    fn the_platforms_free_text_is_quoted_on_one_bounded_line() {
        let kind = EventKind::ConfigurationRejected {
            code: "x".into(),
            reason: format!("paint\n\u{202e}unavailable.  {}", "x".repeat(500)),
        };
        let text = event_sentence(&kind, &Reader::in_utc(Language::English));
        assert!(!text.contains('\n') && !text.contains('\u{202e}'), "{text}");
        assert!(text.contains("paint unavailable. x"), "{text}");
        assert!(text.chars().count() < 300, "{text}");
        let dotted = EventKind::ConfigurationRejected { code: "x".into(), reason: "no paint.".into() };
        assert!(event_sentence(&dotted, &Reader::in_utc(Language::English)).contains("no paint. Your dealership"));
    }

    #[test]
    fn a_title_falls_back_when_the_car_is_not_known() {
        assert_eq!(car_title(Some("Model Nova"), Language::Spanish), "Model Nova");
        assert_eq!(car_title(Some("  "), Language::Portuguese), "O seu carro");
        assert_eq!(car_title(None, Language::English), "Your car");
    }
}
