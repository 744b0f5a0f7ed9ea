//! The catalogue (`shared/protocol/src/action.rs`) is the one list of groups: `template.yaml`'s
//! functions, routes, router variables and invoke permissions must agree with it.

use logbook_protocol::Group;
use logbook_tests::policy::functions;

#[test]
fn every_group_is_a_function_with_its_route() {
    let fns = functions();
    for g in Group::ALL {
        let f = fns.get(g.bin_name()).unwrap_or_else(|| panic!("template.yaml has no function for {g:?}"));
        assert_eq!(f.routes, [("POST".to_owned(), format!("/{}", g.bin_name()))], "{g:?}'s routes");
        // Every group's pipeline writes audit records.
        assert!(f.dynamodb.contains(&("BatchWriteItem".to_owned(), "table".to_owned())), "{g:?} cannot audit");
    }
}

#[test]
fn the_router_reaches_every_group_and_nothing_else() {
    let fns = functions();
    let router = fns.get("router").expect("a router function");
    assert_eq!(router.routes, [("POST".to_owned(), "/".to_owned())]);
    assert!(router.dynamodb.is_empty(), "the router touches no data");
    let mut want_env = std::collections::BTreeMap::new();
    let mut want_invokes = std::collections::BTreeSet::new();
    for g in Group::ALL {
        let resource = fns[g.bin_name()].resource.clone();
        want_env.insert(g.function_env_var(), resource.clone());
        want_invokes.insert(resource);
    }
    let env: std::collections::BTreeMap<_, _> = router
        .environment
        .iter()
        .filter(|(k, _)| k.starts_with("LOGBOOK_FUNCTION_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(env, want_env, "the router's LOGBOOK_FUNCTION_* variables");
    assert_eq!(router.invokes, want_invokes, "the router's invoke permissions");
}

#[test]
fn no_route_outside_the_catalogue() {
    for (binary, f) in functions() {
        for (_, path) in &f.routes {
            let name = path.trim_start_matches('/');
            let known = (binary == "router" && path == "/")
                || (binary == "console" && (path == "/console" || path == "/console/{proxy+}"))
                || Group::from_bin_name(name).is_some_and(|g| g.bin_name() == binary);
            assert!(known, "{binary} has route {path}, which the catalogue does not know");
        }
    }
}

#[test]
fn the_console_is_served_by_a_function_without_data_permissions() {
    let fns = functions();
    let console = fns.get("console").expect("a console function");
    assert_eq!(
        console.routes,
        [("GET".to_owned(), "/console".to_owned()), ("GET".to_owned(), "/console/{proxy+}".to_owned())]
    );
    assert!(console.dynamodb.is_empty(), "the console touches no data");
    assert!(console.invokes.is_empty(), "the console invokes nothing");
}

/// The test gateway's stores enforce the template's policies: a call a function may not make
/// fails, as IAM would refuse it once deployed.
#[tokio::test]
async fn stores_refuse_what_the_policy_does_not_allow() {
    use logbook_storage::keys::Key;
    use logbook_storage::table::{Query, s};
    let key = Key { pk: format!("policy-check#{}", logbook_tests::new_account()), sk: "x".into() };
    let item = || {
        let mut i = key.item();
        i.insert("v".into(), s("1"));
        i
    };
    // The lookup function reads audit records; it may not put items.
    let lookup = logbook_tests::store_for("lookup");
    assert!(lookup.db().put(item(), None).await.is_err(), "lookup may not PutItem");
    assert!(lookup.db().get_item(&key).await.is_ok(), "lookup may GetItem");
    // log-streams may query gsi1 (streams by last event time), not gsi2.
    let streams = logbook_tests::store_for("log-streams");
    assert!(streams.db().page(&Query::new("x").index("gsi1")).await.is_ok());
    assert!(streams.db().page(&Query::new("x").index("gsi2")).await.is_err());
    // The router touches no data at all.
    let router = logbook_tests::store_for("router");
    assert!(router.db().get_item(&key).await.is_err());
}
