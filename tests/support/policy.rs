//! `template.yaml` as the tests see it: every function's routes, environment and DynamoDB
//! policy, read from the template itself, and an SDK interceptor that refuses any DynamoDB call a
//! function's policy does not allow, as IAM would once deployed. The in-process gateway gives each
//! group a store checked against that group's policy, so a handler that needs a permission the
//! template lacks fails its tests here instead of failing in AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation;
use serde_yaml_ng::Value;

/// One function of the template.
#[derive(Debug, Clone, Default)]
pub struct Function {
    /// The resource's logical id (`LogGroupsFunction`).
    pub resource: String,
    /// `Metadata.BuildProperties.Binary`.
    pub binary: String,
    /// `(method, path)` of its HttpApi events.
    pub routes: Vec<(String, String)>,
    /// Environment variable name → the resource a `!Ref` names (or the literal value).
    pub environment: BTreeMap<String, String>,
    /// Functions a `LambdaInvokePolicy` lets it invoke (resource ids).
    pub invokes: BTreeSet<String>,
    /// Allowed `(dynamodb action, resource)` pairs; resource is `table` or `table/index/NAME`.
    pub dynamodb: BTreeSet<(String, String)>,
}

/// Every function of `template.yaml`, by binary name.
pub fn functions() -> &'static BTreeMap<String, Function> {
    static FUNCTIONS: OnceLock<BTreeMap<String, Function>> = OnceLock::new();
    FUNCTIONS.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
        let text = std::fs::read_to_string(path).expect("template.yaml");
        parse(&text)
    })
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn text(v: &Value) -> String {
    match untag(v) {
        Value::String(s) => s.clone(),
        Value::Sequence(parts) => parts.first().map(text).unwrap_or_default(),
        other => format!("{other:?}"),
    }
}

/// `!GetAtt Table.Arn` → `table`, `!Sub "${Table.Arn}/index/gsi1"` → `table/index/gsi1`.
fn resource_name(v: &Value) -> String {
    let t = text(v);
    if t == "Table.Arn" {
        "table".to_owned()
    } else if let Some(rest) = t.strip_prefix("${Table.Arn}") {
        format!("table{rest}")
    } else {
        t
    }
}

fn as_list(v: &Value) -> Vec<&Value> {
    match untag(v) {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

pub fn parse(template: &str) -> BTreeMap<String, Function> {
    let doc: Value = serde_yaml_ng::from_str(template).expect("template.yaml is YAML");
    let mut out = BTreeMap::new();
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else { return out };
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let mut f = Function { resource: text(id), ..Function::default() };
        f.binary = r
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .map(text)
            .unwrap_or_default();
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        if let Some(events) = props.get("Events").and_then(Value::as_mapping) {
            for (_, e) in events {
                if e.get("Type").and_then(Value::as_str) == Some("HttpApi") {
                    let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                    let method = p.get("Method").map(text).unwrap_or_default();
                    let path = p.get("Path").map(text).unwrap_or_default();
                    f.routes.push((method, path));
                }
            }
        }
        if let Some(vars) = props.get("Environment").and_then(|e| e.get("Variables")).and_then(Value::as_mapping) {
            for (k, v) in vars {
                f.environment.insert(text(k), text(v));
            }
        }
        // A function with its own role (`Role: !GetAtt X.Arn`): the role's inline policies.
        let mut policies: Vec<Value> =
            props.get("Policies").map(as_list).unwrap_or_default().into_iter().cloned().collect();
        if let Some(role) = props.get("Role").map(text).and_then(|r| r.strip_suffix(".Arn").map(str::to_owned)) {
            let role_policies = resources
                .get(Value::String(role))
                .and_then(|r| r.get("Properties"))
                .and_then(|p| p.get("Policies"))
                .map(as_list)
                .unwrap_or_default();
            policies.extend(role_policies.into_iter().filter_map(|p| p.get("PolicyDocument").cloned()));
        }
        for policy in &policies {
            if let Some(invoke) = policy.get("LambdaInvokePolicy") {
                f.invokes.insert(invoke.get("FunctionName").map(text).unwrap_or_default());
            }
            for statement in policy.get("Statement").map(as_list).unwrap_or_default() {
                if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
                    continue;
                }
                let actions: Vec<String> =
                    statement.get("Action").map(as_list).unwrap_or_default().into_iter().map(text).collect();
                let resources: Vec<String> =
                    statement.get("Resource").map(as_list).unwrap_or_default().into_iter().map(resource_name).collect();
                for a in actions.iter().filter_map(|a| a.strip_prefix("dynamodb:")) {
                    for r in &resources {
                        f.dynamodb.insert((a.to_owned(), r.clone()));
                    }
                }
            }
        }
        out.insert(f.binary.clone(), f);
    }
    out
}

/// The IAM actions (and index, for queries) one DynamoDB call needs.
pub fn needs(input: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<(String, String)> {
    let i = input.input();
    let on = |action: &str, index: Option<&str>| {
        (action.to_owned(), index.map_or_else(|| "table".to_owned(), |x| format!("table/index/{x}")))
    };
    if i.downcast_ref::<operation::get_item::GetItemInput>().is_some() {
        return vec![on("GetItem", None)];
    }
    if i.downcast_ref::<operation::put_item::PutItemInput>().is_some() {
        return vec![on("PutItem", None)];
    }
    if i.downcast_ref::<operation::update_item::UpdateItemInput>().is_some() {
        return vec![on("UpdateItem", None)];
    }
    if i.downcast_ref::<operation::delete_item::DeleteItemInput>().is_some() {
        return vec![on("DeleteItem", None)];
    }
    if let Some(q) = i.downcast_ref::<operation::query::QueryInput>() {
        return vec![on("Query", q.index_name())];
    }
    if let Some(q) = i.downcast_ref::<operation::scan::ScanInput>() {
        return vec![on("Scan", q.index_name())];
    }
    if i.downcast_ref::<operation::batch_get_item::BatchGetItemInput>().is_some() {
        return vec![on("BatchGetItem", None)];
    }
    if i.downcast_ref::<operation::batch_write_item::BatchWriteItemInput>().is_some() {
        return vec![on("BatchWriteItem", None)];
    }
    // IAM authorises a transaction by the actions of its items.
    if let Some(t) = i.downcast_ref::<operation::transact_write_items::TransactWriteItemsInput>() {
        let mut out = Vec::new();
        for item in t.transact_items() {
            if item.put().is_some() {
                out.push(on("PutItem", None));
            }
            if item.update().is_some() {
                out.push(on("UpdateItem", None));
            }
            if item.delete().is_some() {
                out.push(on("DeleteItem", None));
            }
            if item.condition_check().is_some() {
                out.push(on("ConditionCheckItem", None));
            }
        }
        return out;
    }
    vec![on("(an operation this check does not know)", None)]
}

/// Refuses DynamoDB calls the named function's policy does not allow.
#[derive(Debug)]
pub struct PolicyCheck {
    pub binary: String,
    pub allowed: BTreeSet<(String, String)>,
}

impl PolicyCheck {
    pub fn for_function(binary: &str) -> PolicyCheck {
        let f = functions().get(binary).unwrap_or_else(|| panic!("template.yaml has no function {binary}"));
        PolicyCheck { binary: binary.to_owned(), allowed: f.dynamodb.clone() }
    }
}

impl Intercept for PolicyCheck {
    fn name(&self) -> &'static str {
        "PolicyCheck"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        for (action, resource) in needs(context) {
            if !self.allowed.contains(&(action.clone(), resource.clone())) {
                let message = format!(
                    "AccessDenied (template.yaml): function {} may not call dynamodb:{action} on {resource}",
                    self.binary
                );
                eprintln!("{message}");
                return Err(message.into());
            }
        }
        Ok(())
    }
}
