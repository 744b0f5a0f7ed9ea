//! `logbook-admin`: manages Logbook's access keys, against a deployed stack (its Secrets Manager
//! secrets, with your AWS credentials) or the local one (`scripts/serve`'s Secrets Manager).
//!
//! ```text
//! cargo run -p logbook-admin -- keys create --account 111111111111 --user alice [--stack NAME | --local]
//! cargo run -p logbook-admin -- keys list    [--stack NAME | --local]
//! cargo run -p logbook-admin -- keys disable AKID [--stack NAME | --local]
//! cargo run -p logbook-admin -- keys enable  AKID [--stack NAME | --local]
//! cargo run -p logbook-admin -- keys delete  AKID [--stack NAME | --local]
//! ```
//!
//! A new key's secret is printed once, at creation, and never again.

use std::process::ExitCode;

use logbook_auth::keys::{KeyRecord, Secret, secrets};

const USAGE: &str = "usage: logbook-admin keys (create --account ACCOUNT [--user NAME] | list | disable KEY | enable KEY | delete KEY) \
                     [--stack NAME | --local] [--endpoint URL]";

/// Where the keys are.
struct Target {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

async fn target(args: &[String]) -> Result<Target, String> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let local = args.iter().any(|a| a == "--local");
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let endpoint = flag("--endpoint").or_else(|| {
        local.then(|| {
            let port = std::env::var("LOGBOOK_S3_PORT").unwrap_or_else(|_| "9100".into());
            format!("http://127.0.0.1:{port}")
        })
    });
    if local {
        // The local Secrets Manager (moto's server) takes any credentials.
        loader = loader.region(aws_config::Region::new("us-east-1")).credentials_provider(
            aws_sdk_secretsmanager::config::Credentials::new("local", "local", None, None, "local"),
        );
    }
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    let config = loader.load().await;
    let prefix = match (flag("--stack"), local) {
        (Some(stack), _) => format!("logbook/{stack}/keys/"),
        (None, true) => "logbook/local/keys/".to_owned(),
        (None, false) => return Err("say which Logbook: --stack NAME (deployed) or --local (scripts/serve)".into()),
    };
    Ok(Target { client: aws_sdk_secretsmanager::Client::new(&config), prefix })
}

/// `n` characters drawn uniformly from `alphabet` with the operating system's CSPRNG.
fn random(alphabet: &[u8], n: usize) -> Result<String, String> {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).map_err(|e| format!("no randomness: {e}"))?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % alphabet.len();
        for b in buf {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

async fn run(args: Vec<String>) -> Result<(), String> {
    let (Some("keys"), Some(cmd)) = (args.first().map(String::as_str), args.get(1).map(String::as_str)) else {
        return Err(USAGE.into());
    };
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let t = target(&args).await?;
    let show = |e: logbook_protocol::ApiError| e.detail().unwrap_or(&e.message).to_owned();
    match cmd {
        "create" => {
            let account = flag("--account").ok_or("keys create needs --account ACCOUNT (12 digits)")?;
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("--account must be a 12-digit account id, not {account:?}"));
            }
            let user = flag("--user");
            if let Some(u) = &user
                && (u.is_empty()
                    || u.len() > 64
                    || !u.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)))
            {
                return Err(format!("--user must be an IAM user name (1-64 of A-Za-z0-9+=,.@_-), not {u:?}"));
            }
            let record = KeyRecord {
                access_key_id: format!("LBK{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)?),
                secret_access_key: Secret::new(random(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    40,
                )?),
                account_id: account,
                user_name: user,
                enabled: true,
                created: now_millis(),
            };
            secrets::create(&t.client, &t.prefix, &record).await.map_err(show)?;
            println!("AccessKeyId:     {}", record.access_key_id);
            println!("SecretAccessKey: {}", record.secret_access_key.expose());
            println!("Account:         {}", record.account_id);
            if let Some(u) = &record.user_name {
                println!("User:            {u}");
            }
            eprintln!("The secret is shown this once. Store it now, e.g.:");
            eprintln!(
                "  aws configure set aws_access_key_id {} --profile logbook && aws configure set aws_secret_access_key … --profile logbook",
                record.access_key_id
            );
        }
        "list" => {
            println!("{:<22} {:<14} {:<20} {:<9} created", "AccessKeyId", "Account", "User", "Status");
            for k in secrets::list(&t.client, &t.prefix).await.map_err(show)? {
                println!(
                    "{:<22} {:<14} {:<20} {:<9} {}",
                    k.access_key_id,
                    k.account_id,
                    k.user_name.as_deref().unwrap_or("(root)"),
                    if k.enabled { "Active" } else { "Inactive" },
                    k.created
                );
            }
        }
        "disable" | "enable" => {
            let key = args.get(2).filter(|k| !k.starts_with("--")).ok_or(format!("keys {cmd} needs a key id"))?;
            let mut record =
                secrets::get(&t.client, &t.prefix, key).await.map_err(show)?.ok_or(format!("no key {key}"))?;
            record.enabled = cmd == "enable";
            secrets::put(&t.client, &t.prefix, &record).await.map_err(show)?;
            println!("{key}: {} (within a minute everywhere)", if record.enabled { "Active" } else { "Inactive" });
        }
        "delete" => {
            let key = args.get(2).filter(|k| !k.starts_with("--")).ok_or("keys delete needs a key id")?;
            if secrets::get(&t.client, &t.prefix, key).await.map_err(show)?.is_none() {
                return Err(format!("no key {key}"));
            }
            secrets::delete(&t.client, &t.prefix, key).await.map_err(show)?;
            println!("{key}: deleted (within a minute everywhere)");
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logbook-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
