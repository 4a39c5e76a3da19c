//! The customer's commands against a running platform, and how every command opens the core of
//! its role.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use caas_core::{Caas, CaasConfig, CaasError, FileSecretStore, PushOutcome};
use caas_mock::client::SandboxClient;
use clap::Args;
use futures_util::StreamExt as _;
use serde_json::json;
use uuid::Uuid;

use crate::App;
use crate::failure::Failure;
use crate::output::{Output, lines, print_line};
use crate::render;
use crate::roles::Role;

/// Opens the core on `data_dir`, with secrets in a private folder beside the cache.
pub async fn open_core(backend: &str, data_dir: PathBuf) -> anyhow::Result<Caas> {
    let secrets = Arc::new(FileSecretStore::new(data_dir.join("secrets"))?);
    Ok(Caas::open(CaasConfig { backend_url: backend.to_owned(), data_dir }, secrets).await?)
}

#[derive(Debug, Args)]
pub struct SignInArgs {
    email: String,
    #[command(flatten)]
    code: CodeArgs,
}

/// Where the emailed sign-in code comes from.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct CodeArgs {
    /// The code from the email (asked for when neither this nor --sandbox is given).
    #[arg(long)]
    code: Option<String>,
    /// Read the emailed code from the mock's sandbox (needs the sandbox token).
    #[arg(long)]
    sandbox: bool,
}

impl App {
    /// The customer's core.
    pub async fn core(&self) -> anyhow::Result<Caas> {
        self.core_as(Role::Customer).await
    }

    /// The core of `role`, on its own data directory (where a cache an earlier version kept in
    /// the root moves first).
    pub async fn core_as(&self, role: Role) -> anyhow::Result<Caas> {
        crate::roles::settle_legacy(&self.backend, &self.data_root).await?;
        open_core(&self.backend, role.dir(&self.data_root)).await
    }

    /// The sandbox, or a usage failure naming where its token comes from.
    pub fn sandbox_client(&self) -> anyhow::Result<SandboxClient> {
        let token = self.sandbox_token.as_deref().ok_or_else(|| {
            Failure::usage("this needs the mock's sandbox token")
                .with_fix("pass --sandbox-token or set CAAS_SANDBOX_TOKEN (printed by `caas mock serve`)")
        })?;
        Ok(SandboxClient::new(&self.backend, token))
    }

    /// The emailed code: given, read from the sandbox, or asked for. The code is requested from the
    /// platform unless it was given.
    pub async fn sign_in_code(&self, core: &Caas, email: &str, code: CodeArgs) -> anyhow::Result<String> {
        if let Some(code) = code.code {
            return Ok(code);
        }
        let sandbox = if code.sandbox { Some(self.sandbox_client()?) } else { None };
        core.request_sign_in_code(email).await?;
        match sandbox {
            Some(sandbox) => Ok(sandbox.sign_in_code(email).await?),
            None => prompt(&format!("A sign-in code was emailed to {email}. Code: ")),
        }
    }

    pub async fn sign_in(&self, args: SignInArgs) -> anyhow::Result<Output> {
        let core = self.core().await?;
        let code = self.sign_in_code(&core, &args.email, args.code).await?;
        let customer = core.sign_in(&args.email, &code).await.map_err(|e| match e {
            CaasError::Unauthorized => Failure::refused("invalid_code", "that code is wrong or has expired")
                .with_fix("ask for a new one: run the same command without --code")
                .into(),
            other => anyhow::Error::from(other),
        })?;
        let report = core.sync().await?;
        Ok(Output::new(
            format!("Signed in as customer {customer}; {} order(s).", report.orders),
            json!({ "customer_id": customer, "orders": report.orders }),
        ))
    }

    pub async fn sign_out(&self) -> anyhow::Result<Output> {
        self.core().await?.sign_out().await?;
        Ok(Output::new(
            "Signed out: the session ended, this device's phone keys were revoked and the cached orders removed.",
            json!({ "signed_out": true }),
        ))
    }

    pub async fn revoke_key(&self, order: Uuid, grant: Uuid) -> anyhow::Result<Output> {
        self.core().await?.revoke_phone_key(order, grant).await?;
        Ok(Output::new(
            format!("Phone key {grant} revoked: the car refuses it from its next command."),
            json!({ "order_id": order, "grant_id": grant, "revoked": true }),
        ))
    }

    pub async fn sync(&self) -> anyhow::Result<Output> {
        let report = self.core().await?.sync().await?;
        Ok(Output::new(
            format!("{} order(s), {} new event(s).", report.orders, report.new_events),
            json!({ "orders": report.orders, "new_events": report.new_events }),
        ))
    }

    /// Syncs when possible; offline, says so on stderr and carries on with the cache.
    async fn synced_core(&self) -> anyhow::Result<(Caas, bool)> {
        let core = self.core().await?;
        let offline = match core.sync().await {
            Ok(_) => false,
            Err(error) if error.is_unreachable() => {
                crate::output::tell(format_args!("{}: showing the cached state", error.chain()));
                true
            }
            Err(error) => return Err(error.into()),
        };
        Ok((core, offline))
    }

    pub async fn orders(&self) -> anyhow::Result<Output> {
        let (core, _) = self.synced_core().await?;
        let orders = core.orders().await?;
        let text = lines(orders.iter().map(render::summary_line), "No orders yet.");
        Ok(Output::new(text, serde_json::Value::Array(orders.iter().map(render::summary_json).collect())))
    }

    pub async fn timeline(&self, order: Uuid) -> anyhow::Result<Output> {
        let (core, _) = self.synced_core().await?;
        let order = core.order(order).await?;
        Ok(Output::new(render::timeline_text(&order), render::detail_json(&order)))
    }

    pub async fn watch(&self) -> anyhow::Result<Output> {
        let (core, _) = self.synced_core().await?;
        let mut pushes = std::pin::pin!(core.push_updates());
        let stream = core.connect_push_stream().await?;
        if !self.json {
            print_line(format_args!("Watching pushes on device {} (Ctrl-C to stop).", stream.device_id()))?;
        }
        loop {
            let (hint, outcome) = tokio::select! {
                push = pushes.next() => match push {
                    Some(push) => push,
                    None => return Ok(Output::done()),
                },
                stop = tokio::signal::ctrl_c() => {
                    stop?;
                    return Ok(Output::done());
                }
            };
            let state = core.order(hint.order_id).await.map(|o| o.summary.state.wire_name()).unwrap_or("unknown");
            let (outcome, new_events) = match outcome {
                PushOutcome::Synced { new_events } => ("synced", new_events),
                PushOutcome::Duplicate => ("duplicate", 0),
                PushOutcome::NotForThisAccount => ("not_for_this_account", 0),
            };
            Output::new(
                format!("push {} v{} {} -> {outcome}; order now {state}", hint.order_id, hint.order_version, hint.kind),
                json!({ "order_id": hint.order_id, "version": hint.order_version, "kind": hint.kind,
                        "outcome": outcome, "new_events": new_events, "status": state }),
            )
            .print(self.json)?;
        }
    }
}

/// Asks on the terminal; the question goes to stderr so stdout stays the command's answer.
pub(crate) fn prompt(question: &str) -> anyhow::Result<String> {
    crate::output::write_stderr(question);
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the answer")?;
    Ok(line.trim().to_owned())
}
