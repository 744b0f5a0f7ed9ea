use logbook_lookup::Lookup;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    logbook_protocol::init_tracing();
    let group =
        Lookup { store: logbook_storage::Store::from_env().await, tokens: logbook_model::TokenCodec::from_env() };
    let audit = logbook_storage::audit::AuditLog::new(group.store.clone());
    logbook_protocol::pipeline::run(group, audit).await
}
