use logbook_trails::Trails;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    logbook_protocol::init_tracing();
    let auth = logbook_auth::Auth::from_env().await?;
    let config = aws_config::load_from_env().await;
    let group = Trails {
        store: logbook_storage::Store::from_env().await,
        s3: logbook_delivery::s3::client(&config),
        sns: logbook_delivery::sns::Sns::new(&config),
    };
    let audit = logbook_storage::audit::AuditLog::new(group.store.clone());
    logbook_protocol::pipeline::run(group, auth, audit).await
}
