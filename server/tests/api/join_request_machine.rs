//! A state-machine property test of join requests against the real server.
//!
//! proptest generates sequences of operations by random actors: agencies asking (on their own
//! appointment or someone else's), the patient asking (the waiting room is off), decisions by
//! the doctor, an administrator, the agencies and the patient, repeated and opposite decisions,
//! approve and reject racing each other (`tokio::join!`), withdrawals by anyone, a withdrawal
//! racing a decision, cancelling an appointment, reading a request, and ids that name nothing.
//! A small reference model predicts every answer; after every operation the server's state is
//! compared with the model:
//! - each request's status is the model's, so nothing ever leaves a decided or withdrawn state,
//!   and a request carries `decidedAt` exactly when it is no longer pending;
//! - the appointment lists exactly the model's requests, at most one pending per requester;
//! - a decided request has exactly one `join_request.decided` audit row, naming its decision,
//!   requester and a runner of the appointment, and no other request has one; a withdrawn
//!   request has exactly one `join_request.withdrawn` row, by its requester, and no other has one;
//! - the requester has exactly one `join_request_decided` notification per decided request and
//!   none for a pending or withdrawn one; the doctor exactly one `join_request_created` per
//!   request.
//!
//! Every case books its own appointments for a fresh doctor and two fresh agencies, so cases
//! do not see each other's rows.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestCaseResult};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::clinic::{rfc3339, Actor, Clinic};
use crate::common::{proptest_runner, Reply};

/// Cases, and operations per case: together a few hundred operations, each checked in full.
const CASES: u32 = 32;
const MAX_OPS: usize = 14;
/// Far enough ahead that no reminder falls due during the run.
const IN_TWO_DAYS: Duration = Duration::from_secs(2 * 24 * 3600);

/// Who acts, as an index into a case's cast.
const DOCTOR: usize = 0;
const ADMIN: usize = 1;
/// The agency of appointment 0.
const AGENCY_A: usize = 2;
/// The agency of appointment 1.
const AGENCY_B: usize = 3;
const PATIENT: usize = 4;
const CAST: usize = 5;
const APPOINTMENTS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    /// Approved or rejected by a runner.
    fn is_decision(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected)
    }

    fn decision(approve: bool) -> Status {
        if approve {
            Status::Approved
        } else {
            Status::Rejected
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Status::Approved => "approve",
            _ => "reject",
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// `who` asks to join appointment `appointment`.
    Ask { who: usize, appointment: usize },
    /// `who` decides request number `request` (modulo the requests so far; none: an unknown id).
    Decide {
        who: usize,
        request: usize,
        approve: bool,
    },
    /// Two runners decide the same request at the same moment.
    Race {
        request: usize,
        first: (usize, bool),
        second: (usize, bool),
    },
    /// `who` withdraws request number `request` (none: an unknown id).
    Withdraw { who: usize, request: usize },
    /// The requester withdraws while a runner decides, at the same moment.
    RaceWithdraw {
        request: usize,
        runner: usize,
        approve: bool,
    },
    /// The doctor cancels an appointment (repeating it is harmless).
    Cancel { appointment: usize },
    /// `who` reads a request.
    Read { who: usize, request: usize },
    /// A runner decides an id that names no request.
    DecideUnknown { who: usize, approve: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let runner = prop_oneof![Just(DOCTOR), Just(ADMIN)];
    prop_oneof![
        5 => (prop_oneof![4 => Just(AGENCY_A), 4 => Just(AGENCY_B), 1 => Just(PATIENT)], 0..APPOINTMENTS)
            .prop_map(|(who, appointment)| Op::Ask { who, appointment }),
        5 => (prop_oneof![6 => runner.clone(), 1 => Just(AGENCY_A), 1 => Just(AGENCY_B), 1 => Just(PATIENT)], any::<usize>(), any::<bool>())
            .prop_map(|(who, request, approve)| Op::Decide { who, request, approve }),
        2 => (any::<usize>(), (runner.clone(), any::<bool>()), (runner.clone(), any::<bool>()))
            .prop_map(|(request, first, second)| Op::Race { request, first, second }),
        3 => (prop_oneof![6 => Just(AGENCY_A), 6 => Just(AGENCY_B), 1 => Just(DOCTOR), 1 => Just(ADMIN), 1 => Just(PATIENT)], any::<usize>())
            .prop_map(|(who, request)| Op::Withdraw { who, request }),
        1 => (any::<usize>(), runner.clone(), any::<bool>())
            .prop_map(|(request, runner, approve)| Op::RaceWithdraw { request, runner, approve }),
        1 => (0..APPOINTMENTS).prop_map(|appointment| Op::Cancel { appointment }),
        1 => ((0..CAST), any::<usize>()).prop_map(|(who, request)| Op::Read { who, request }),
        1 => (runner, any::<bool>()).prop_map(|(who, approve)| Op::DecideUnknown { who, approve }),
    ]
}

#[derive(Debug, Clone)]
struct Request {
    id: String,
    appointment: usize,
    requester: usize,
    status: Status,
}

/// What the server should hold.
#[derive(Debug, Default)]
struct Model {
    cancelled: [bool; APPOINTMENTS],
    requests: Vec<Request>,
}

impl Model {
    fn pick(&self, n: usize) -> Option<usize> {
        (!self.requests.is_empty()).then(|| n % self.requests.len())
    }

    /// The agency on an appointment.
    fn agency_of(appointment: usize) -> usize {
        [AGENCY_A, AGENCY_B][appointment]
    }

    /// A decision by `who` on request `index`, as the server must answer it; applies it.
    fn decide(&mut self, who: usize, index: usize, decision: Status) -> StatusCode {
        let request = &mut self.requests[index];
        match who {
            DOCTOR | ADMIN => {}
            // A guest on the appointment is told no; someone not on it is told nothing exists.
            who if who == PATIENT || who == Model::agency_of(request.appointment) => {
                return StatusCode::FORBIDDEN
            }
            _ => return StatusCode::NOT_FOUND,
        }
        match request.status {
            Status::Pending => {
                request.status = decision;
                StatusCode::OK
            }
            current if current == decision => StatusCode::OK,
            _ => StatusCode::CONFLICT,
        }
    }

    /// A withdrawal by `who` of request `index`, as the server must answer it; applies it.
    fn withdraw(&mut self, who: usize, index: usize) -> StatusCode {
        let request = &mut self.requests[index];
        if who != request.requester {
            // Others on the appointment are told no; someone not on it is told nothing exists.
            let on_it = matches!(who, DOCTOR | ADMIN | PATIENT)
                || who == Model::agency_of(request.appointment);
            return if on_it {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
        }
        match request.status {
            Status::Pending | Status::Withdrawn => {
                request.status = Status::Withdrawn;
                StatusCode::OK
            }
            Status::Approved | Status::Rejected => StatusCode::CONFLICT,
        }
    }
}

/// A case's people and appointments.
struct Cast {
    actors: [Actor; CAST],
    appointments: [String; APPOINTMENTS],
}

impl Cast {
    async fn new(clinic: &Clinic) -> Cast {
        let doctor = clinic.newcomer("doctor").await;
        let agency_a = clinic.newcomer("agency").await;
        let agency_b = clinic.newcomer("agency").await;
        let actors = [
            doctor,
            clinic.admin.clone(),
            agency_a,
            agency_b,
            clinic.patient.clone(),
        ];
        let mut appointments = Vec::new();
        for appointment in 0..APPOINTMENTS {
            let start = time::OffsetDateTime::now_utc() + IN_TWO_DAYS;
            let agency = &actors[Model::agency_of(appointment)];
            let booked = clinic
                .call(
                    Method::POST,
                    "/appointments",
                    Some(&actors[DOCTOR]),
                    Some(json!({
                        "doctorId": actors[DOCTOR].id,
                        "patientId": actors[PATIENT].id,
                        "agencyId": agency.id,
                        "startTime": rfc3339(start),
                        "endTime": rfc3339(start + Duration::from_secs(1800)),
                        "callType": "video",
                    })),
                )
                .await;
            appointments.push(booked.data()["id"].as_str().expect("id").to_owned());
        }
        Cast {
            actors,
            appointments: appointments.try_into().expect("two"),
        }
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

fn expect_status(what: &str, reply: &Reply, expected: StatusCode) -> TestCaseResult {
    prop_assert_eq!(reply.status, expected, "{}: {}", what, reply.body);
    if expected.is_success() {
        prop_assert_eq!(&reply.body["success"], &json!(true), "{}", what);
    } else {
        prop_assert_eq!(&reply.body["success"], &json!(false), "{}", what);
        let code = match expected {
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            _ => "conflict",
        };
        prop_assert_eq!(
            &reply.body["error"]["code"],
            &json!(code),
            "{}: {}",
            what,
            reply.body
        );
    }
    Ok(())
}

async fn decide(clinic: &Clinic, who: &Actor, id: &str, decision: Status) -> Reply {
    clinic
        .post(&format!("/join-requests/{id}/{}", decision.verb()), who)
        .await
}

async fn withdraw(clinic: &Clinic, who: &Actor, id: &str) -> Reply {
    clinic
        .post(&format!("/join-requests/{id}/withdraw"), who)
        .await
}

/// Runs one operation against the server and the model; checks the answer.
async fn apply(clinic: &Clinic, cast: &Cast, model: &mut Model, op: &Op) -> TestCaseResult {
    let what = format!("{op:?}");
    match *op {
        Op::Ask { who, appointment } => {
            let reply = clinic
                .post(
                    &format!(
                        "/appointments/{}/join-requests",
                        cast.appointments[appointment]
                    ),
                    &cast.actors[who],
                )
                .await;
            if who == PATIENT {
                // The waiting room is off: the patient joins directly.
                return expect_status(&what, &reply, StatusCode::CONFLICT);
            }
            if who != Model::agency_of(appointment) {
                return expect_status(&what, &reply, StatusCode::NOT_FOUND);
            }
            if model.cancelled[appointment] {
                return expect_status(&what, &reply, StatusCode::CONFLICT);
            }
            expect_status(&what, &reply, StatusCode::OK)?;
            let data = reply.data();
            let id = data["id"].as_str().unwrap_or_default().to_owned();
            // Asking again returns the approval already given, else the pending request.
            let existing = model
                .requests
                .iter()
                .find(|r| {
                    r.appointment == appointment
                        && r.requester == who
                        && r.status == Status::Approved
                })
                .or_else(|| {
                    model.requests.iter().find(|r| {
                        r.appointment == appointment
                            && r.requester == who
                            && r.status == Status::Pending
                    })
                });
            match existing {
                Some(existing) => {
                    prop_assert_eq!(&id, &existing.id, "{}: {}", what, data);
                    prop_assert_eq!(&data["status"], &json!(existing.status.as_str()));
                }
                None => {
                    prop_assert!(
                        model.requests.iter().all(|r| r.id != id),
                        "{}: an old id for a new request: {}",
                        what,
                        data
                    );
                    prop_assert_eq!(&data["status"], &json!("pending"), "{}", what);
                    model.requests.push(Request {
                        id,
                        appointment,
                        requester: who,
                        status: Status::Pending,
                    });
                }
            }
            Ok(())
        }
        Op::Decide {
            who,
            request,
            approve,
        } => {
            let decision = Status::decision(approve);
            let Some(index) = model.pick(request) else {
                let reply = decide(clinic, &cast.actors[who], "jrq_none", decision).await;
                return expect_status(&what, &reply, StatusCode::NOT_FOUND);
            };
            let id = model.requests[index].id.clone();
            let reply = decide(clinic, &cast.actors[who], &id, decision).await;
            let expected = model.decide(who, index, decision);
            expect_status(&what, &reply, expected)?;
            if expected.is_success() {
                // Also a repeat answers with the decision that stands.
                prop_assert_eq!(&reply.data()["status"], &json!(decision.as_str()));
            }
            Ok(())
        }
        Op::Race {
            request,
            first,
            second,
        } => {
            let Some(index) = model.pick(request) else {
                return Ok(());
            };
            let id = model.requests[index].id.clone();
            let (d1, d2) = (Status::decision(first.1), Status::decision(second.1));
            let (r1, r2) = tokio::join!(
                decide(clinic, &cast.actors[first.0], &id, d1),
                decide(clinic, &cast.actors[second.0], &id, d2)
            );
            let what = format!(
                "{what}: {} {} / {} {}",
                r1.status, r1.body, r2.status, r2.body
            );
            if model.requests[index].status == Status::Pending && d1 != d2 {
                // Exactly one wins; the loser learns the decision went the other way.
                let winner = match (r1.status, r2.status) {
                    (StatusCode::OK, StatusCode::CONFLICT) => d1,
                    (StatusCode::CONFLICT, StatusCode::OK) => d2,
                    _ => return Err(fail(format!("{what}: not one winner"))),
                };
                model.requests[index].status = winner;
                return Ok(());
            }
            // Otherwise the order does not matter: both answers follow from the model.
            let e1 = model.decide(first.0, index, d1);
            let e2 = model.decide(second.0, index, d2);
            prop_assert_eq!((r1.status, r2.status), (e1, e2), "{}", what);
            Ok(())
        }
        Op::Withdraw { who, request } => {
            let Some(index) = model.pick(request) else {
                let reply = withdraw(clinic, &cast.actors[who], "jrq_none").await;
                return expect_status(&what, &reply, StatusCode::NOT_FOUND);
            };
            let id = model.requests[index].id.clone();
            let reply = withdraw(clinic, &cast.actors[who], &id).await;
            let expected = model.withdraw(who, index);
            expect_status(&what, &reply, expected)?;
            if expected.is_success() {
                prop_assert_eq!(&reply.data()["status"], &json!("withdrawn"));
            }
            Ok(())
        }
        Op::RaceWithdraw {
            request,
            runner,
            approve,
        } => {
            let Some(index) = model.pick(request) else {
                return Ok(());
            };
            let id = model.requests[index].id.clone();
            let requester = model.requests[index].requester;
            let decision = Status::decision(approve);
            let (w, d) = tokio::join!(
                withdraw(clinic, &cast.actors[requester], &id),
                decide(clinic, &cast.actors[runner], &id, decision)
            );
            let what = format!("{what}: {} {} / {} {}", w.status, w.body, d.status, d.body);
            if model.requests[index].status == Status::Pending {
                // Exactly one settles it; the other learns it is settled the other way.
                let winner = match (w.status, d.status) {
                    (StatusCode::OK, StatusCode::CONFLICT) => Status::Withdrawn,
                    (StatusCode::CONFLICT, StatusCode::OK) => decision,
                    _ => return Err(fail(format!("{what}: not one winner"))),
                };
                model.requests[index].status = winner;
                return Ok(());
            }
            // Settled before: both answers follow from the model, in either order.
            let ew = model.withdraw(requester, index);
            let ed = model.decide(runner, index, decision);
            prop_assert_eq!((w.status, d.status), (ew, ed), "{}", what);
            Ok(())
        }
        Op::Cancel { appointment } => {
            let reply = clinic
                .call(
                    Method::DELETE,
                    &format!("/appointments/{}", cast.appointments[appointment]),
                    Some(&cast.actors[DOCTOR]),
                    None,
                )
                .await;
            expect_status(&what, &reply, StatusCode::OK)?;
            prop_assert_eq!(&reply.data()["status"], &json!("cancelled"));
            model.cancelled[appointment] = true;
            Ok(())
        }
        Op::Read { who, request } => {
            let Some(index) = model.pick(request) else {
                return Ok(());
            };
            let request = &model.requests[index];
            let reply = clinic
                .get(&format!("/join-requests/{}", request.id), &cast.actors[who])
                .await;
            // The requester and the appointment's runners see it; nobody else learns it exists.
            if who == request.requester || who == DOCTOR || who == ADMIN {
                expect_status(&what, &reply, StatusCode::OK)?;
                prop_assert_eq!(&reply.data()["status"], &json!(request.status.as_str()));
            } else {
                expect_status(&what, &reply, StatusCode::NOT_FOUND)?;
            }
            Ok(())
        }
        Op::DecideUnknown { who, approve } => {
            let reply = decide(
                clinic,
                &cast.actors[who],
                "jrq_00000000000000000000000000000000",
                Status::decision(approve),
            )
            .await;
            expect_status(&what, &reply, StatusCode::NOT_FOUND)
        }
    }
}

/// The server's whole state of the case's join requests against the model.
async fn check_invariants(
    clinic: &Clinic,
    cast: &Cast,
    model: &Model,
    after: &str,
) -> TestCaseResult {
    let doctor = &cast.actors[DOCTOR];
    // Every request holds the model's status; `decidedAt` exactly when no longer pending.
    for request in &model.requests {
        let reply = clinic
            .get(&format!("/join-requests/{}", request.id), doctor)
            .await;
        let data = reply.data();
        prop_assert_eq!(
            &data["status"],
            &json!(request.status.as_str()),
            "after {}: request {}",
            after,
            request.id
        );
        prop_assert_eq!(
            data["decidedAt"].is_string(),
            request.status != Status::Pending,
            "after {}: {}",
            after,
            data
        );
        prop_assert_eq!(
            &data["requesterId"],
            &json!(cast.actors[request.requester].id)
        );
    }
    // The appointments list exactly the model's requests, at most one pending per requester.
    for (appointment, appointment_id) in cast.appointments.iter().enumerate() {
        let reply = clinic
            .get(
                &format!("/appointments/{appointment_id}/join-requests"),
                doctor,
            )
            .await;
        let mut listed: Vec<(String, String)> = reply
            .data()
            .as_array()
            .expect("list")
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        listed.sort();
        let mut expected: Vec<(String, String)> = model
            .requests
            .iter()
            .filter(|r| r.appointment == appointment)
            .map(|r| (r.id.clone(), r.status.as_str().to_owned()))
            .collect();
        expected.sort();
        prop_assert_eq!(
            listed,
            expected,
            "after {}: appointment {}",
            after,
            appointment
        );
        let mut pending = BTreeMap::<usize, usize>::new();
        for request in model
            .requests
            .iter()
            .filter(|r| r.appointment == appointment)
        {
            if request.status == Status::Pending {
                *pending.entry(request.requester).or_default() += 1;
            }
        }
        prop_assert!(
            pending.values().all(|&n| n <= 1),
            "after {}: {:?}",
            after,
            pending
        );
    }

    // One audit row per decided request, none for a pending or withdrawn one.
    let audit = clinic
        .get(
            "/audit?action=join_request.decided&limit=1000",
            &clinic.admin,
        )
        .await;
    let rows = audit.data().as_array().expect("list").clone();
    let audit = clinic
        .get(
            "/audit?action=join_request.withdrawn&limit=1000",
            &clinic.admin,
        )
        .await;
    let withdrawals = audit.data().as_array().expect("list").clone();
    for request in &model.requests {
        let mine: Vec<&Value> = withdrawals
            .iter()
            .filter(|row| row["detail"]["joinRequestId"] == json!(request.id))
            .collect();
        let expected = usize::from(request.status == Status::Withdrawn);
        prop_assert_eq!(
            mine.len(),
            expected,
            "after {}: withdrawal audit rows of {}: {:?}",
            after,
            request.id,
            mine
        );
        if let Some(row) = mine.first() {
            prop_assert_eq!(
                &row["actorUserId"],
                &json!(cast.actors[request.requester].id)
            );
            prop_assert_eq!(
                &row["detail"]["appointmentId"],
                &json!(cast.appointments[request.appointment])
            );
        }
    }
    for request in &model.requests {
        let mine: Vec<&Value> = rows
            .iter()
            .filter(|row| row["detail"]["joinRequestId"] == json!(request.id))
            .collect();
        let expected = usize::from(request.status.is_decision());
        prop_assert_eq!(
            mine.len(),
            expected,
            "after {}: audit rows of {}: {:?}",
            after,
            request.id,
            mine
        );
        if let Some(row) = mine.first() {
            prop_assert_eq!(&row["detail"]["decision"], &json!(request.status.as_str()));
            prop_assert_eq!(
                &row["detail"]["requesterId"],
                &json!(cast.actors[request.requester].id)
            );
            prop_assert_eq!(
                &row["detail"]["appointmentId"],
                &json!(cast.appointments[request.appointment])
            );
            let actor = row["actorUserId"].as_str().unwrap_or_default();
            prop_assert!(
                actor == cast.actors[DOCTOR].id || actor == cast.actors[ADMIN].id,
                "after {}: decided by {}",
                after,
                actor
            );
        }
    }

    // One decision notice for the requester per decided request; one creation notice for the
    // doctor per request.
    let mut notices = BTreeMap::<(usize, &str, String), usize>::new();
    for who in [DOCTOR, AGENCY_A, AGENCY_B] {
        let reply = clinic.get("/notifications", &cast.actors[who]).await;
        for notice in reply.data().as_array().expect("list") {
            let kind = notice["kind"].as_str().unwrap_or_default();
            let kind = match kind {
                "join_request_decided" => "join_request_decided",
                "join_request_created" => "join_request_created",
                _ => continue,
            };
            let id = notice["joinRequestId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *notices.entry((who, kind, id)).or_default() += 1;
        }
    }
    for request in &model.requests {
        let decided = usize::from(request.status.is_decision());
        let count = |who, kind| {
            notices
                .get(&(who, kind, request.id.clone()))
                .copied()
                .unwrap_or(0)
        };
        prop_assert_eq!(
            count(request.requester, "join_request_decided"),
            decided,
            "after {}: decision notices for {}",
            after,
            request.id
        );
        prop_assert_eq!(
            count(DOCTOR, "join_request_created"),
            1,
            "after {}: creation notices for {}",
            after,
            request.id
        );
    }
    // No notice about a request the model does not know.
    let known = |id: &String| model.requests.iter().any(|r| &r.id == id);
    prop_assert!(
        notices.keys().all(|(_, _, id)| known(id)),
        "after {}: notices for unknown requests: {:?}",
        after,
        notices
    );
    Ok(())
}

async fn run_case(clinic: &Clinic, ops: &[Op]) -> TestCaseResult {
    let cast = Cast::new(clinic).await;
    let mut model = Model::default();
    for (n, op) in ops.iter().enumerate() {
        apply(clinic, &cast, &mut model, op).await?;
        check_invariants(clinic, &cast, &model, &format!("op {n} {op:?}")).await?;
    }
    Ok(())
}

#[test]
fn join_requests_follow_the_state_machine() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    let clinic = runtime.block_on(Clinic::start());
    let mut runner = proptest_runner(CASES, 100);
    let outcome = runner.run(&proptest::collection::vec(op(), 1..=MAX_OPS), |ops| {
        runtime.block_on(run_case(&clinic, &ops))
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
    runtime.block_on(clinic.server.stop());
}
