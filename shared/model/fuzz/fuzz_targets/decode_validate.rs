//! Any body for any action: protocol decoding and the action's validation never panic, and a
//! refusal is always a 4xx in AWS's form. The first byte picks the action, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logbook_model::{cloudtrail, events, logs, metric};
use logbook_protocol::{Action, ApiError, Call, Identity, Target};

fn check<T>(r: Result<T, ApiError>) {
    if let Err(e) = r {
        assert!((400..500).contains(&e.status()), "{e:?}");
        assert!(!e.message.is_empty());
        let body: serde_json::Value = serde_json::from_str(&e.to_body()).expect("JSON");
        assert_eq!(body["__type"], e.code.as_str());
    }
}

fn run(action: Action, call: &Call) -> Result<(), ApiError> {
    let now = 1_795_215_679_900;
    match action {
        Action::CreateLogGroup => drop(call.decode::<logs::CreateLogGroupRequest>()?.validate()?.into_group(now)),
        Action::DeleteLogGroup | Action::DeleteRetentionPolicy | Action::DisassociateKmsKey | Action::ListTagsLogGroup => {
            drop(call.decode::<logs::GroupRequest>()?.validate()?)
        }
        Action::DescribeLogGroups => drop(call.decode::<logs::DescribeLogGroupsRequest>()?.validate()?),
        Action::PutRetentionPolicy => drop(call.decode::<logs::PutRetentionPolicyRequest>()?.validate()?),
        Action::TagLogGroup => drop(call.decode::<logs::TagLogGroupRequest>()?.validate()?),
        Action::UntagLogGroup => drop(call.decode::<logs::UntagLogGroupRequest>()?.validate()?),
        Action::AssociateKmsKey => drop(call.decode::<logs::AssociateKmsKeyRequest>()?.validate()?),
        Action::CreateLogStream | Action::DeleteLogStream => drop(call.decode::<logs::StreamRequest>()?.validate()?),
        Action::DescribeLogStreams => drop(call.decode::<logs::DescribeLogStreamsRequest>()?.validate()?),
        Action::PutLogEvents => {
            let cmd = call.decode::<events::PutLogEventsRequest>()?.validate()?;
            drop(cmd.accept(now, Some(7))?);
        }
        Action::GetLogEvents => drop(call.decode::<events::GetLogEventsRequest>()?.validate()?),
        Action::FilterLogEvents => {
            let cmd = call.decode::<events::FilterLogEventsRequest>()?.validate()?;
            let _ = cmd.pattern.matches("ERROR 1.2.3.4 {\"a\": 1}");
        }
        Action::PutMetricFilter => drop(call.decode::<metric::PutMetricFilterRequest>()?.validate()?),
        Action::DeleteMetricFilter => drop(call.decode::<metric::DeleteMetricFilterRequest>()?.validate()?),
        Action::DescribeMetricFilters => drop(call.decode::<metric::DescribeMetricFiltersRequest>()?.validate()?),
        Action::TestMetricFilter => drop(call.decode::<metric::TestMetricFilterRequest>()?.run()?),
        Action::LookupEvents => drop(call.decode::<cloudtrail::LookupEventsRequest>()?.validate(now)?),
        Action::CreateTrail | Action::UpdateTrail => {
            let req = call.decode::<cloudtrail::TrailRequest>()?;
            req.validate(action == Action::CreateTrail)?;
            req.into_trail("us-east-1").check_combination()?;
        }
        Action::DescribeTrails => {
            let req = call.decode::<cloudtrail::DescribeTrailsRequest>()?;
            for n in req.trail_name_list.unwrap_or_default() {
                drop(cloudtrail::name_or_arn(&n)?);
            }
        }
        Action::DeleteTrail | Action::GetTrailStatus | Action::StartLogging | Action::StopLogging => {
            if let Some(n) = call.decode::<cloudtrail::NameRequest>()?.name {
                drop(cloudtrail::name_or_arn(&n)?);
            }
        }
        // Not served yet: nothing to validate.
        _ => {}
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let action = Action::ALL[pick as usize % Action::ALL.len()];
    // The target header round-trips.
    assert_eq!(Target::parse(Some(&action.target())), Target::Known(action));
    let _ = Target::parse(std::str::from_utf8(body).ok());
    let identity = Identity { account_id: "111122223333".into(), region: "us-east-1".into(), access_key_id: None, user_name: None };
    let call = Call::new(action, identity, "fuzz".into(), body.to_vec());
    check(run(action, &call));
});
