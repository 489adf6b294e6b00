//! Measures the clinic server the way clinics will load it: how fast a join request reaches the
//! doctor's event stream, how many event streams one instance holds and what each costs in
//! memory, and how many password logins and Jitsi tokens it issues per second. Run by
//! `scripts/bench` against the release build (`CONSULT_E2E_PROFILE=release`), on loopback, with
//! this process and the server sharing the machine.
//!
//! `bench-server [--requests N] [--clients N]` (defaults 1000 and 10000). The open-file limit of
//! this process (inherited by the server) must exceed the client count; `scripts/bench` raises it.
//!
//! `bench-server kiosks [--kiosks N]` (default 1000) measures a kiosk fleet instead (issue 14):
//! N devices created by an administrator, each signed in, holding its event stream and beating
//! every 30 s, spread evenly over the period; the server's CPU and memory over three beat periods
//! against the same server idle with the same devices, then how long after a kiosk's last beat
//! the administrator's stream says it is offline. Each kiosk holds two sockets (its stream, and
//! the connection its beats reuse) here and two in the server: the open-file limit must exceed
//! twice the kiosk count, or fewer kiosks are measured.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consult_e2e::bench::goal;
use consult_e2e::clinic::{Actor, DEMO_ADMIN_EMAIL};
use consult_e2e::{ClinicApi, ClinicServer, DEMO_DOCTOR_EMAIL, DEMO_PASSWORD};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch, Semaphore};

/// Warm-up join requests before the measured ones.
const WARMUP: usize = 50;
/// Appointments (each with its own agency user) the measured join requests rotate over.
const LOBBY_APPOINTMENTS: usize = 10;
/// Join requests measured again with all event streams open.
const REQUESTS_UNDER_LOAD: usize = 200;
const LOGINS: usize = 400;
const LOGIN_CONCURRENCY: usize = 4;
const TOKENS: usize = 10_000;
const TOKEN_CONCURRENCY: usize = 16;
/// Streams being opened at once; more only queue in the listen backlog.
const CONNECT_CONCURRENCY: usize = 100;
/// Bookings in flight at once while pushing an event to every stream's user.
const BOOKING_CONCURRENCY: usize = 8;

/// Issue 16's goals, as ratios: RSS after the logins to RSS before them; the pushed event's p99
/// under load to the same server's idle p99.
const GOAL_LOGIN_MEMORY: f64 = 1.5;
const GOAL_PUSH_TAIL: f64 = 5.0;

const JITSI_SECRET: &str = "bench-only-jitsi-app-secret-0123456789abcdef";

/// No flag sets these: `[jitsi]`, the login limits (off: a benchmark logs in far more often
/// than a person), and access tokens that outlive the run (an event stream ends when the token
/// that opened it expires).
fn config_toml() -> String {
    format!(
        "demo_appointments = false\n\
         access_token_ttl_secs = 7200\n\
         login_attempts_per_minute_per_ip = 0\n\
         login_attempts_per_minute_per_account = 0\n\
         [jitsi]\n\
         server_url = \"https://meet.bench.test\"\n\
         app_id = \"consult-bench\"\n\
         app_secret = \"{JITSI_SECRET}\"\n"
    )
}

const USAGE: &str =
    "usage: bench-server [--requests N] [--clients N] | bench-server kiosks [--kiosks N]";

struct Args {
    /// `bench-server kiosks`: the kiosk fleet instead of the load figures.
    kiosk_fleet: bool,
    requests: usize,
    clients: usize,
    kiosks: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        kiosk_fleet: false,
        requests: 1000,
        clients: 10_000,
        kiosks: 1000,
    };
    let mut iter = std::env::args().skip(1).peekable();
    if iter.peek().map(String::as_str) == Some("kiosks") {
        iter.next();
        args.kiosk_fleet = true;
    }
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{flag} needs a number"));
        match (flag.as_str(), args.kiosk_fleet) {
            ("--requests", false) => args.requests = value,
            ("--clients", false) => args.clients = value,
            ("--kiosks", true) => args.kiosks = value,
            (other, _) => panic!("unexpected argument {other}; {USAGE}"),
        }
    }
    args
}

#[tokio::main]
async fn main() {
    let mut args = parse_args();
    if args.kiosk_fleet {
        kiosk_fleet(args.kiosks).await;
        return;
    }
    let files = open_files_limit();
    // Each stream is one socket here and one in the server; leave room for everything else.
    if args.clients + 200 > files {
        let fewer = files.saturating_sub(200);
        println!(
            "WARNING: the open-files limit is {files}, too low for {} streams; measuring {fewer}. \
             Raise it with `ulimit -n 20000` (scripts/bench does, as far as the hard limit allows).",
            args.clients
        );
        args.clients = fewer;
    }
    let mut rows = Vec::new();
    // Other work on the machine skews every figure; the run reports how much there was.
    let machine_before = machine_busy_ticks();
    let mut ours = 0;
    let run_started = Instant::now();

    // First server: latency on an idle server, then logins and meeting tokens.
    let (server, api) = start_server("bench-server");
    let pid = server.pid();
    println!(
        "server {} (pid {pid}), open-files limit {files}",
        server.url()
    );
    let mut memory = vec![("at start", rss_kib(pid))];
    let doctor = api.login(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    let lobby = Lobby::prepare(&api, &doctor).await;

    // (a) Join request → the doctor's event stream, on an otherwise idle server.
    let stream = api.open_stream(&doctor.access_token).await;
    let mut stream = stream.forward().await;
    let idle = lobby
        .measure(&api, &doctor, &mut stream, WARMUP, args.requests)
        .await;
    idle.report(&mut rows, "idle server, 1 stream open", args.requests);
    memory.push(("after the join requests", rss_kib(pid)));

    // (c) Password logins.
    let logins = run_concurrently(LOGINS, LOGIN_CONCURRENCY, {
        let api = api.clone();
        move |_| {
            let api = api.clone();
            async move {
                api.login(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
            }
        }
    })
    .await;
    logins.report(
        &mut rows,
        "password logins (`POST /auth/login`)",
        "logins/s",
        LOGIN_CONCURRENCY,
    );
    memory.push(("after the logins", rss_kib(pid)));
    let (before_logins, after_logins) = (memory[1].1 as f64, memory[2].1 as f64);
    goal(
        &format!("server RSS after {LOGINS} password logins against before them (MiB)"),
        after_logins / 1024.0,
        before_logins / 1024.0,
        GOAL_LOGIN_MEMORY,
    );

    // (d) Jitsi meeting tokens, for the doctor of an appointment about to start (the server
    // mints them only from 15 minutes before the start).
    let patient = api.register("patient", "bench-token-patient").await;
    let soon = api
        .book_starting_in(&doctor, &patient.id, None, Duration::from_secs(10 * 60))
        .await;
    let session_id = soon["sessionId"].as_str().expect("sessionId").to_owned();
    let tokens = run_concurrently(TOKENS, TOKEN_CONCURRENCY, {
        let api = api.clone();
        let token = doctor.access_token.clone();
        move |_| {
            let api = api.clone();
            let token = token.clone();
            let path = format!("/sessions/{session_id}/jwt");
            async move {
                let data = api.call(Method::GET, &path, Some(&token), None).await;
                assert!(data["jitsiToken"]
                    .as_str()
                    .is_some_and(|jwt| jwt.len() > 100));
            }
        }
    })
    .await;
    tokens.report(
        &mut rows,
        "Jitsi tokens (`GET /sessions/{sessionId}/jwt`, HS256)",
        "tokens/s",
        TOKEN_CONCURRENCY,
    );
    memory.push(("after the tokens", rss_kib(pid)));
    let memory = memory
        .iter()
        .map(|(when, kib)| format!("{when} {:.1} MiB", *kib as f64 / 1024.0))
        .collect::<Vec<_>>()
        .join(", ");
    println!("server memory (VmRSS): {memory}");
    rows.push((
        "server memory (VmRSS) of the first server".to_owned(),
        memory,
    ));
    drop(stream);
    ours += cpu_ticks(pid);
    drop(server);

    // (b) A fresh server, so memory freed by the password hashing above (Argon2 takes 19 MiB a
    // hash) cannot hide what the streams cost. No password login at all on this one: the doctor
    // registers through demo mode too.
    let (server, api) = start_server("bench-server-streams");
    let pid = server.pid();
    let doctor = api.register("doctor", "bench-crowd-doctor").await;
    let lobby = Lobby::prepare(&api, &doctor).await;
    let stream = api.open_stream(&doctor.access_token).await;
    let mut stream = stream.forward().await;
    // This server's own idle figure, the reference of the pushed events' goal.
    let idle_here = lobby
        .measure(&api, &doctor, &mut stream, WARMUP, args.requests)
        .await;
    let idle_p99 = idle_here.event_p99();
    idle_here.report(
        &mut rows,
        "second server, idle, before the streams open",
        args.requests,
    );
    // Many event streams at once, each a different user, then an event pushed to each.
    let crowd = Crowd::run(&api, &doctor, pid, args.clients).await;
    crowd.report(&mut rows);
    goal(
        &format!(
            "pushed event p99 with {} streams open and bookings {BOOKING_CONCURRENCY} at a time, against this server's idle join request p99 (ms)",
            crowd.connected
        ),
        crowd.push_p99.as_secs_f64() * 1000.0,
        idle_p99.as_secs_f64() * 1000.0,
        GOAL_PUSH_TAIL,
    );

    // (a) again, with every stream of (b) still open.
    let loaded = lobby
        .measure(&api, &doctor, &mut stream, 10, REQUESTS_UNDER_LOAD)
        .await;
    loaded.report(
        &mut rows,
        &format!("{} other streams open", crowd.connected),
        REQUESTS_UNDER_LOAD,
    );
    drop(stream);
    crowd.close().await;
    ours += cpu_ticks(pid);
    drop(server);
    ours += cpu_ticks(std::process::id());
    let others = machine_busy_ticks().saturating_sub(machine_before + ours) as f64
        / ticks_per_second()
        / run_started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let others = format!(
        "{:.0} % of the machine ({cores} cores) over the {:.0} s run",
        others * 100.0 / cores as f64,
        run_started.elapsed().as_secs_f64()
    );
    println!("CPU used by other processes during the run: {others}");
    rows.push((
        "CPU used by other processes during the run (skews the figures above)".to_owned(),
        others,
    ));

    println!();
    println!("| figure | value |");
    println!("|---|---|");
    for (figure, value) in rows {
        println!("| {figure} | {value} |");
    }
}

fn start_server(label: &str) -> (ClinicServer, Api) {
    start_server_with(label, &config_toml())
}

fn start_server_with(label: &str, config_toml: &str) -> (ClinicServer, Api) {
    let server = ClinicServer::start_demo_with_config(label, config_toml);
    let api = Api {
        clinic: ClinicApi::new(server.url()),
        base: server.url().to_owned(),
        client: Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client"),
    };
    (server, api)
}

// ---------------------------------------------------------------------------------------------
// (a) The lobby: agencies ask to join, the doctor's stream shows it.

struct Appointment {
    id: String,
    agency: Actor,
}

struct Lobby {
    appointments: Vec<Appointment>,
}

struct LobbyTimes {
    /// POST sent → the `join_request` event (status pending) on the doctor's stream.
    event: Vec<Duration>,
    /// POST sent → the `notification` of kind `join_request_created` on the doctor's stream.
    notification: Vec<Duration>,
    /// POST sent → its response.
    response: Vec<Duration>,
}

impl Lobby {
    /// Agency users (register-or-login, demo mode) and one appointment for each.
    async fn prepare(api: &Api, doctor: &Actor) -> Lobby {
        let patient = api.register("patient", "bench-lobby-patient").await;
        let mut appointments = Vec::new();
        for n in 0..LOBBY_APPOINTMENTS {
            let agency = api
                .register("agency", &format!("bench-lobby-agency-{n}"))
                .await;
            let booked = api.book(doctor, &patient.id, Some(&agency.id)).await;
            appointments.push(Appointment {
                id: booked["id"].as_str().expect("id").to_owned(),
                agency,
            });
        }
        Lobby { appointments }
    }

    /// One request at a time: an agency asks, the doctor's stream shows it, the doctor rejects
    /// it (untimed) so the same agency can ask again later.
    async fn measure(
        &self,
        api: &Api,
        doctor: &Actor,
        stream: &mut mpsc::UnboundedReceiver<SseMessage>,
        warmup: usize,
        count: usize,
    ) -> LobbyTimes {
        let mut times = LobbyTimes {
            event: Vec::with_capacity(count),
            notification: Vec::with_capacity(count),
            response: Vec::with_capacity(count),
        };
        for n in 0..warmup + count {
            let appointment = &self.appointments[n % self.appointments.len()];
            let path = format!("/appointments/{}/join-requests", appointment.id);
            let sent = Instant::now();
            let request = api
                .call(
                    Method::POST,
                    &path,
                    Some(&appointment.agency.access_token),
                    None,
                )
                .await;
            let answered = sent.elapsed();
            assert_eq!(request["status"], "pending", "{request}");
            let request_id = request["id"].as_str().expect("request id");
            let (mut event, mut notification) = (None, None);
            while event.is_none() || notification.is_none() {
                let message = tokio::time::timeout(Duration::from_secs(30), stream.recv())
                    .await
                    .expect("the doctor's stream shows the join request within 30 s")
                    .expect("the doctor's stream stays open");
                let data: Value = serde_json::from_str(&message.data).unwrap_or(Value::Null);
                match message.event.as_str() {
                    "join_request" if data["id"] == request_id && data["status"] == "pending" => {
                        event = Some(message.at - sent);
                    }
                    "notification"
                        if data["kind"] == "join_request_created"
                            && data["appointmentId"] == appointment.id.as_str() =>
                    {
                        notification = Some(message.at - sent);
                    }
                    _ => {}
                }
            }
            let decided = api
                .call(
                    Method::POST,
                    &format!("/join-requests/{request_id}/reject"),
                    Some(&doctor.access_token),
                    None,
                )
                .await;
            assert_eq!(decided["status"], "rejected", "{decided}");
            if n >= warmup {
                times.event.extend(event);
                times.notification.extend(notification);
                times.response.push(answered);
            }
        }
        times
    }
}

impl LobbyTimes {
    /// POST sent → `join_request` on the doctor's stream, 99th percentile.
    fn event_p99(&self) -> Duration {
        let mut sorted = self.event.clone();
        sorted.sort();
        percentile(&sorted, 0.99)
    }

    fn report(mut self, rows: &mut Vec<(String, String)>, setting: &str, count: usize) {
        let mut line = |what: &str, values: &mut Vec<Duration>| {
            values.sort();
            let row = (
                format!("join request → {what} ({setting}, {count} requests)"),
                format!(
                    "p50 {}, p99 {}, max {}",
                    ms(percentile(values, 0.50)),
                    ms(percentile(values, 0.99)),
                    ms(*values.last().expect("measured")),
                ),
            );
            println!("{}: {}", row.0, row.1);
            rows.push(row);
        };
        line("doctor's stream: `join_request` event", &mut self.event);
        line(
            "doctor's stream: `join_request_created` notification",
            &mut self.notification,
        );
        line("the agency's POST answered", &mut self.response);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) The crowd: N users with a stream each.

struct Crowd {
    connected: usize,
    /// Booking sent → its event on the patient's stream, 99th percentile.
    push_p99: Duration,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    figures: Vec<(String, String)>,
}

impl Crowd {
    async fn run(api: &Api, doctor: &Actor, pid: u32, clients: usize) -> Crowd {
        let mut figures = Vec::new();
        // Patients, each with a stream; the doctor books one appointment with each to push them
        // an event (`appointment_created`).
        let started = Instant::now();
        let users: Vec<Actor> = run_collect(clients, BOOKING_CONCURRENCY, {
            let api = api.clone();
            move |n| {
                let api = api.clone();
                async move { api.register("patient", &format!("bench-crowd-{n}")).await }
            }
        })
        .await;
        println!(
            "registered {clients} patients in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        settle().await;
        let rss_before = rss_kib(pid);
        let threads_before = threads(pid);

        let (stop, stop_rx) = watch::channel(false);
        let ready = Arc::new(AtomicUsize::new(0));
        let (pushed_tx, mut pushed_rx) = mpsc::unbounded_channel::<(usize, Instant)>();
        let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(clients);
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
        for (n, user) in users.iter().enumerate() {
            let api = api.clone();
            let token = user.access_token.clone();
            let permits = permits.clone();
            let ready_tx = ready_tx.clone();
            let pushed_tx = pushed_tx.clone();
            let mut stop_rx = stop_rx.clone();
            let ready = ready.clone();
            tasks.push(tokio::spawn(async move {
                let mut stream = {
                    let _permit = permits.acquire().await.expect("open");
                    let mut stream = api.open_stream(&token).await;
                    expect_ready(&mut stream).await;
                    stream
                };
                ready.fetch_add(1, Ordering::Relaxed);
                let _ = ready_tx.send(());
                let mut pushed = false;
                loop {
                    tokio::select! {
                        message = stream.next() => match message {
                            Some(message) if !pushed && message.event == "notification" => {
                                pushed = true;
                                let _ = pushed_tx.send((n, message.at));
                            }
                            Some(_) => {}
                            None => panic!("a stream closed before the end of the run"),
                        },
                        _ = stop_rx.wait_for(|stop| *stop) => break,
                    }
                }
            }));
        }
        drop(ready_tx);
        drop(pushed_tx);
        for _ in 0..clients {
            tokio::time::timeout(Duration::from_secs(300), ready_rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "only {} of {clients} streams were ready after 300 s",
                        ready.load(Ordering::Relaxed)
                    )
                })
                .expect("every stream reports ready");
        }
        let connect_time = started.elapsed();
        figures.push((
            "event streams opened (`GET /events`, one user each, `ready` received by every client)"
                .to_owned(),
            format!(
                "**{clients}** in {:.1} s ({:.0}/s, {CONNECT_CONCURRENCY} connecting at a time)",
                connect_time.as_secs_f64(),
                clients as f64 / connect_time.as_secs_f64()
            ),
        ));
        settle().await;
        let rss_open = rss_kib(pid);
        let threads_open = threads(pid);

        // Idle cost of the open streams: heartbeats and session checks, one interval (15 s).
        let cpu_before = cpu_ticks(pid);
        let window = Duration::from_secs(15);
        tokio::time::sleep(window).await;
        let cpu = (cpu_ticks(pid) - cpu_before) as f64 / ticks_per_second() / window.as_secs_f64();

        // One event for every user: the doctor books an appointment with each, several at a
        // time; each booking's send time is matched with when its patient's stream showed it.
        let started = Instant::now();
        let mut sent = run_collect(clients, BOOKING_CONCURRENCY, {
            let api = api.clone();
            let doctor = doctor.clone();
            let users: Arc<Vec<String>> = Arc::new(users.iter().map(|u| u.id.clone()).collect());
            move |n| {
                let api = api.clone();
                let doctor = doctor.clone();
                let patient = users[n].clone();
                async move {
                    let sent = Instant::now();
                    api.book(&doctor, &patient, None).await;
                    (n, sent)
                }
            }
        })
        .await;
        let booked = started.elapsed();
        sent.sort_by_key(|(n, _)| *n);
        let mut latencies = Vec::with_capacity(clients);
        while latencies.len() < clients {
            let (n, at) = tokio::time::timeout(Duration::from_secs(120), pushed_rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "only {} of {clients} clients got their event within 120 s",
                        latencies.len()
                    )
                })
                .expect("every client reports its event");
            latencies.push(at - sent[n].1);
        }
        latencies.sort();
        figures.push((
            format!(
                "pushed event: the doctor books an appointment with each of the {clients} users \
                 ({BOOKING_CONCURRENCY} bookings at a time); booking sent → \
                 `appointment_created` on that patient's stream"
            ),
            format!(
                "received by **{} of {clients}** clients; p50 {}, p99 {}, max {} \
                 ({clients} bookings in {:.1} s, {:.0}/s)",
                latencies.len(),
                ms(percentile(&latencies, 0.50)),
                ms(percentile(&latencies, 0.99)),
                ms(*latencies.last().expect("measured")),
                booked.as_secs_f64(),
                clients as f64 / booked.as_secs_f64(),
            ),
        ));
        settle().await;
        let rss_after = rss_kib(pid);
        let per_connection = rss_open.saturating_sub(rss_before) as f64 * 1024.0 / clients as f64;
        figures.push((
            format!("server memory (VmRSS) before → {clients} streams open → after pushing"),
            format!(
                "{:.1} MiB → {:.1} MiB → {:.1} MiB; threads {threads_before} → {threads_open}",
                rss_before as f64 / 1024.0,
                rss_open as f64 / 1024.0,
                rss_after as f64 / 1024.0,
            ),
        ));
        figures.push((
            "server memory per open stream".to_owned(),
            format!(
                "**{:.1} KiB** ((RSS open − RSS before) / {clients})",
                per_connection / 1024.0
            ),
        ));
        figures.push((
            format!("server CPU with {clients} idle streams (heartbeats, session checks)"),
            format!(
                "{:.0} % of one core, over {} s",
                cpu * 100.0,
                window.as_secs()
            ),
        ));
        for (figure, value) in &figures {
            println!("{figure}: {value}");
        }
        Crowd {
            connected: clients,
            push_p99: percentile(&latencies, 0.99),
            stop,
            tasks,
            figures,
        }
    }

    fn report(&self, rows: &mut Vec<(String, String)>) {
        rows.extend(self.figures.iter().cloned());
    }

    async fn close(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The kiosk fleet (issue 14): N kiosks beating every 30 s, and silent ones seen offline.

/// A kiosk's beat period (`BEAT_SECS` in server/src/fleet.rs, the answer's `nextBeatSecs`).
const BEAT: Duration = Duration::from_secs(30);
/// The sweep that turns kiosks offline after three missed beats runs this often: the server's
/// default (`device_check_secs`), written out so that the report can say what it measured.
const DEVICE_CHECK_SECS: u64 = 5;
/// Each measured window: three beat periods.
const FLEET_WINDOW: Duration = Duration::from_secs(90);
/// How often the server's RSS is read within a window.
const RSS_SAMPLE: Duration = Duration::from_secs(5);
/// Kiosks that fall silent to time their offline event, spread over the beat period.
const SILENT_KIOSKS: usize = 5;
/// Issue 14's goal: a kiosk that goes silent is offline for the administrator within 100 s.
const GOAL_OFFLINE_SECS: f64 = 100.0;
/// Devices created, and kiosks signed in, this many at a time.
const DEVICE_CONCURRENCY: usize = 8;

/// A kiosk device, signed in.
struct FleetKiosk {
    device_id: String,
    access_token: String,
}

async fn kiosk_fleet(mut kiosks: usize) {
    let files = open_files_limit();
    // Two sockets a kiosk (stream, beats) here and in the server, and room for everything else.
    if 2 * kiosks + 200 > files {
        let fewer = files.saturating_sub(200) / 2;
        println!(
            "WARNING: the open-files limit is {files}, too low for {kiosks} kiosks; measuring \
             {fewer}. Raise it with `ulimit -n 20000` (scripts/bench does, as far as the hard \
             limit allows)."
        );
        kiosks = fewer;
    }
    assert!(
        kiosks >= SILENT_KIOSKS,
        "at least {SILENT_KIOSKS} kiosks are needed"
    );
    let mut rows = Vec::new();
    // Before `[jitsi]`, so it stays a top-level key.
    let config = format!("device_check_secs = {DEVICE_CHECK_SECS}\n{}", config_toml());
    let (server, api) = start_server_with("bench-kiosks", &config);
    let pid = server.pid();
    println!(
        "server {} (pid {pid}), open-files limit {files}, {kiosks} kiosks",
        server.url()
    );
    let admin = api.login(DEMO_ADMIN_EMAIL, DEMO_PASSWORD).await;

    // The devices, as an administrator registers them (`POST /devices`: an id and a secret
    // each), and each kiosk signed in with its credential.
    let started = Instant::now();
    let created: Vec<(usize, String, String)> = run_collect(kiosks, DEVICE_CONCURRENCY, {
        let api = api.clone();
        let token = admin.access_token.clone();
        move |n| {
            let api = api.clone();
            let token = token.clone();
            async move {
                let body = json!({ "location": format!("Bench room {n}"), "name": "Bench" });
                let device = api
                    .call(Method::POST, "/devices", Some(&token), Some(body))
                    .await;
                let text = |field: &str| device[field].as_str().expect(field).to_owned();
                (n, text("deviceId"), text("deviceSecret"))
            }
        }
    })
    .await;
    let created_in = started.elapsed();
    let started = Instant::now();
    let created = Arc::new(created);
    let mut signed_in: Vec<(usize, FleetKiosk)> = run_collect(kiosks, DEVICE_CONCURRENCY, {
        let api = api.clone();
        let created = created.clone();
        move |index| {
            let api = api.clone();
            let created = created.clone();
            async move {
                let (n, device_id, secret) = &created[index];
                let kiosk = api.clinic.device_login(device_id, secret).await;
                (
                    *n,
                    FleetKiosk {
                        device_id: device_id.clone(),
                        access_token: kiosk.access_token,
                    },
                )
            }
        }
    })
    .await;
    let signed_in_in = started.elapsed();
    signed_in.sort_by_key(|(n, _)| *n);
    let fleet: Vec<FleetKiosk> = signed_in.into_iter().map(|(_, kiosk)| kiosk).collect();
    rows.push((
        "kiosk devices created by the administrator (`POST /devices`), then signed in \
         (`POST /auth/device-login`)"
            .to_owned(),
        format!(
            "**{kiosks}** in {:.1} s, then in {:.1} s ({DEVICE_CONCURRENCY} at a time)",
            created_in.as_secs_f64(),
            signed_in_in.as_secs_f64()
        ),
    ));
    println!("{}: {}", rows[0].0, rows[0].1);

    // The administrator's event stream, open from here to the end: the fleet view.
    let mut admin_view = AdminView {
        messages: api.open_stream(&admin.access_token).await.forward().await,
        online: 0,
        offline: Vec::new(),
    };

    // The floor: the same server with the same devices, no kiosk stream and no beat.
    settle().await;
    println!(
        "idle floor: {} s, {kiosks} devices, no kiosk stream or beat",
        FLEET_WINDOW.as_secs()
    );
    let idle = Usage::measure(pid, FLEET_WINDOW).await;
    println!("idle: {}", idle.describe());

    // The fleet: every kiosk opens its stream, then beats every 30 s at its place in the period.
    let started = Instant::now();
    let mut running = Fleet::start(&api, fleet).await;
    let connected_in = started.elapsed();
    rows.push((
        "kiosk event streams opened (`GET /events` with each kiosk's token, `ready` received)"
            .to_owned(),
        format!(
            "**{kiosks}** in {:.1} s ({CONNECT_CONCURRENCY} connecting at a time)",
            connected_in.as_secs_f64()
        ),
    ));
    // One period for each kiosk's first beat (which brings it online: one `device_status` event
    // each on the administrator's stream), then the steady state.
    tokio::time::sleep(BEAT).await;
    settle().await;
    admin_view.drain();
    println!(
        "warm-up: {} of {kiosks} kiosks reported online on the administrator's stream",
        admin_view.online
    );
    rows.push((
        "`device_status` online events on the administrator's stream after the first beats"
            .to_owned(),
        format!("{} of {kiosks}", admin_view.online),
    ));
    println!(
        "beating: {} s, {kiosks} kiosks beating every {} s with their streams open",
        FLEET_WINDOW.as_secs(),
        BEAT.as_secs()
    );
    let window_start = Instant::now();
    let beating = Usage::measure(pid, FLEET_WINDOW).await;
    let window_end = Instant::now();
    println!("beating: {}", beating.describe());
    let mut beats = running.beats_between(window_start, window_end);

    rows.push((
        format!(
            "server idle: {kiosks} devices, the administrator's stream only, over {} s",
            FLEET_WINDOW.as_secs()
        ),
        idle.describe(),
    ));
    rows.push((
        format!(
            "server with {kiosks} kiosks beating every {} s (spread evenly) and {kiosks} kiosk \
             streams open, over {} s",
            BEAT.as_secs(),
            FLEET_WINDOW.as_secs()
        ),
        beating.describe(),
    ));
    // A floor of a few clock ticks makes a ratio that says little; the difference says more.
    let cpu_ratio = if idle.ticks > 0 {
        format!(
            "{:.0} x (+{:.2} % of one core)",
            beating.cpu / idle.cpu,
            (beating.cpu - idle.cpu) * 100.0
        )
    } else {
        format!(
            "idle used no measurable CPU (+{:.2} % of one core)",
            beating.cpu * 100.0
        )
    };
    rows.push((
        "beating against idle (ratios in the same run)".to_owned(),
        format!(
            "CPU {cpu_ratio}; VmRSS **{:.2} x** ({:+.1} MiB, {:.1} KiB a kiosk){}",
            beating.rss_mean / idle.rss_mean,
            (beating.rss_mean - idle.rss_mean) / 1024.0,
            (beating.rss_mean - idle.rss_mean) / kiosks as f64,
            match (idle.pss, beating.pss) {
                (Some(idle), Some(beating)) =>
                    format!("; PSS {:.2} x", beating as f64 / idle as f64),
                _ => String::new(),
            }
        ),
    ));
    let failed = beats.iter().filter(|beat| !beat.ok).count();
    beats.sort_by_key(|beat| beat.took);
    let took: Vec<Duration> = beats.iter().map(|beat| beat.took).collect();
    let window_secs = (window_end - window_start).as_secs_f64();
    rows.push((
        format!("heartbeats (`POST /devices/me/heartbeat`) sent in the {window_secs:.0} s window"),
        if took.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "**{}** ({:.1}/s), failed {failed}; latency p50 {}, p99 {}, max {}; server CPU \
                 {:.2} ms a beat (beating minus idle CPU time, over the beats)",
                beats.len(),
                beats.len() as f64 / window_secs,
                ms(percentile(&took, 0.50)),
                ms(percentile(&took, 0.99)),
                ms(*took.last().expect("measured")),
                (beating.cpu - idle.cpu) * window_secs * 1000.0 / beats.len() as f64,
            )
        },
    ));
    rows.push((
        "CPU used by other processes during the windows (skews the figures above)".to_owned(),
        format!(
            "idle {:.0} %, beating {:.0} % of the machine ({} cores)",
            idle.others * 100.0,
            beating.others * 100.0,
            std::thread::available_parallelism().map_or(1, usize::from)
        ),
    ));

    // Silent kiosks: a few, spread over the period (so over the sweep's phase too), stop after
    // their next beat and close their stream, as a kiosk switched off; the others beat on.
    let silent: Vec<usize> = (0..SILENT_KIOSKS)
        .map(|i| i * running.kiosks.len() / SILENT_KIOSKS)
        .collect();
    println!(
        "silencing kiosks {silent:?} after their next beat; waiting for the administrator's \
         stream to show them offline"
    );
    for &n in &silent {
        running.silenced[n].store(true, Ordering::Relaxed);
    }
    let mut last_beats = Vec::new();
    for _ in &silent {
        let (n, at) = tokio::time::timeout(2 * BEAT, running.last_beats.recv())
            .await
            .expect("each silenced kiosk beats once more within two periods")
            .expect("the fleet reports its silenced kiosks");
        last_beats.push((running.kiosks[n].clone(), at));
    }
    let ids: Vec<String> = last_beats.iter().map(|(id, _)| id.clone()).collect();
    admin_view
        .wait_for_offline(&ids, Duration::from_secs(OFFLINE_WAIT_SECS))
        .await;
    let mut offline_after = Vec::new();
    for (id, last_beat) in &last_beats {
        let shown = admin_view
            .offline
            .iter()
            .find(|(offline, _)| offline == id)
            .map(|(_, at)| *at)
            .unwrap_or_else(|| {
                panic!("kiosk {id} was not shown offline within {OFFLINE_WAIT_SECS} s")
            });
        offline_after.push(shown - *last_beat);
    }
    let unexpected: Vec<&String> = admin_view
        .offline
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !ids.contains(id))
        .collect();
    let each = offline_after
        .iter()
        .map(|after| format!("{:.1}", after.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sorted = offline_after.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let max = *sorted.last().expect("measured");
    rows.push((
        format!(
            "silent kiosk → offline: last beat sent → `device_status` with `online: false` on \
             the administrator's stream ({} kiosks; offline after 3 missed beats, {} s, seen by \
             a sweep every {DEVICE_CHECK_SECS} s)",
            offline_after.len(),
            3 * BEAT.as_secs()
        ),
        format!(
            "{each} s; median **{:.1} s**, max **{:.1} s** (goal ≤ {GOAL_OFFLINE_SECS:.0} s)",
            median.as_secs_f64(),
            max.as_secs_f64()
        ),
    ));
    rows.push((
        "kiosks that kept beating but were shown offline (should be none)".to_owned(),
        format!("{}", unexpected.len()),
    ));
    for (figure, value) in &rows[rows.len() - 2..] {
        println!("{figure}: {value}");
    }
    goal(
        "slowest silent kiosk, last beat → offline on the administrator's stream, against issue 14's goal (s)",
        max.as_secs_f64(),
        GOAL_OFFLINE_SECS,
        1.0,
    );
    let failed_later = running.beats_between(window_end, Instant::now());
    let failed_later = failed_later.iter().filter(|beat| !beat.ok).count();
    let streams_lost = running.streams_lost.load(Ordering::Relaxed);
    rows.push((
        "after the window: failed heartbeats, kiosk streams closed by the server".to_owned(),
        format!("{failed_later}, {streams_lost}"),
    ));
    running.close().await;
    drop(server);

    println!();
    println!("| figure | value |");
    println!("|---|---|");
    for (figure, value) in rows {
        println!("| {figure} | {value} |");
    }
}

/// How long after the last of the silenced kiosks' beats their offline events may take.
const OFFLINE_WAIT_SECS: u64 = 180;

/// The administrator's stream: the `device_status` events it brought.
struct AdminView {
    messages: mpsc::UnboundedReceiver<SseMessage>,
    /// Events saying a kiosk is online.
    online: usize,
    /// Events saying a kiosk is offline, and when they arrived.
    offline: Vec<(String, Instant)>,
}

impl AdminView {
    fn take(&mut self, message: SseMessage) {
        if message.event != "device_status" {
            return;
        }
        let status: Value = serde_json::from_str(&message.data).unwrap_or(Value::Null);
        match status["online"].as_bool() {
            Some(true) => self.online += 1,
            Some(false) => {
                let id = status["deviceId"].as_str().expect("deviceId").to_owned();
                self.offline.push((id, message.at));
            }
            None => panic!("a device_status without `online`: {}", message.data),
        }
    }

    /// Takes what has arrived so far.
    fn drain(&mut self) {
        while let Ok(message) = self.messages.try_recv() {
            self.take(message);
        }
    }

    /// Waits until every one of `ids` was shown offline, or `timeout`.
    async fn wait_for_offline(&mut self, ids: &[String], timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        self.drain();
        while !ids
            .iter()
            .all(|id| self.offline.iter().any(|(offline, _)| offline == id))
        {
            match tokio::time::timeout_at(deadline, self.messages.recv()).await {
                Ok(Some(message)) => self.take(message),
                Ok(None) => panic!("the administrator's stream closed"),
                Err(_) => return,
            }
        }
    }
}

/// One heartbeat as a kiosk sent it.
struct BeatRecord {
    sent: Instant,
    took: Duration,
    ok: bool,
}

/// The kiosks, each on a task of its own.
struct Fleet {
    /// Device ids, by kiosk number.
    kiosks: Vec<String>,
    /// Set for a kiosk to stop after its next beat.
    silenced: Arc<Vec<AtomicBool>>,
    /// Every beat sent.
    beats: mpsc::UnboundedReceiver<BeatRecord>,
    /// A silenced kiosk's number and when it sent its last beat.
    last_beats: mpsc::UnboundedReceiver<(usize, Instant)>,
    /// Kiosk streams that ended before the run did.
    streams_lost: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Fleet {
    /// Every kiosk opens its event stream on connections of its own, as a kiosk does, then
    /// beats every [`BEAT`], kiosk n of N at n/N of the period. Returns once every stream is
    /// ready.
    async fn start(api: &Api, fleet: Vec<FleetKiosk>) -> Fleet {
        let count = fleet.len();
        let silenced: Arc<Vec<AtomicBool>> =
            Arc::new((0..count).map(|_| AtomicBool::new(false)).collect());
        let (beats_tx, beats) = mpsc::unbounded_channel();
        let (last_tx, last_beats) = mpsc::unbounded_channel();
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
        let (stop, stop_rx) = watch::channel(false);
        let streams_lost = Arc::new(AtomicUsize::new(0));
        let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
        let epoch = Instant::now();
        let kiosks = fleet.iter().map(|kiosk| kiosk.device_id.clone()).collect();
        let mut tasks = Vec::with_capacity(count);
        for (n, kiosk) in fleet.into_iter().enumerate() {
            let base = api.base.clone();
            let silenced = silenced.clone();
            let beats_tx = beats_tx.clone();
            let last_tx = last_tx.clone();
            let ready_tx = ready_tx.clone();
            let mut stop_rx = stop_rx.clone();
            let streams_lost = streams_lost.clone();
            let permits = permits.clone();
            tasks.push(tokio::spawn(async move {
                let client = Client::builder()
                    .connect_timeout(Duration::from_secs(30))
                    .build()
                    .expect("HTTP client");
                let mut stream = {
                    let _permit = permits.acquire().await.expect("open");
                    let mut stream = open_stream(&client, &base, &kiosk.access_token).await;
                    expect_ready(&mut stream).await;
                    stream
                };
                let _ = ready_tx.send(());
                let mut due = epoch + BEAT.mul_f64(n as f64 / count as f64);
                while due < Instant::now() {
                    due += BEAT;
                }
                let mut ticker = tokio::time::interval_at(due.into(), BEAT);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut open = true;
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {
                            let sent = Instant::now();
                            let ok = heartbeat(&client, &base, &kiosk.access_token).await;
                            let _ = beats_tx.send(BeatRecord { sent, took: sent.elapsed(), ok });
                            if silenced[n].load(Ordering::Relaxed) {
                                // Silent from now on: no beat, and its stream and connections
                                // close as this task ends.
                                let _ = last_tx.send((n, sent));
                                break;
                            }
                        }
                        message = stream.next(), if open => {
                            if message.is_none() {
                                open = false;
                                streams_lost.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        // Its `Ref` dropped at once: it must not live across the beat's await.
                        _ = async { drop(stop_rx.wait_for(|stop| *stop).await) } => break,
                    }
                }
            }));
        }
        drop(ready_tx);
        for ready in 0..count {
            tokio::time::timeout(Duration::from_secs(300), ready_rx.recv())
                .await
                .unwrap_or_else(|_| panic!("only {ready} of {count} kiosk streams ready in 300 s"))
                .expect("every kiosk reports its stream ready");
        }
        Fleet {
            kiosks,
            silenced,
            beats,
            last_beats,
            streams_lost,
            stop,
            tasks,
        }
    }

    /// The beats sent from `start` until `end`, of those reported so far; earlier ones are
    /// dropped.
    fn beats_between(&mut self, start: Instant, end: Instant) -> Vec<BeatRecord> {
        let mut beats = Vec::new();
        while let Ok(beat) = self.beats.try_recv() {
            if beat.sent >= start && beat.sent < end {
                beats.push(beat);
            }
        }
        beats
    }

    async fn close(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// `POST /devices/me/heartbeat` as an idle, healthy kiosk; whether the server took it.
async fn heartbeat(client: &Client, base: &str, token: &str) -> bool {
    let response = client
        .post(format!("{base}/devices/me/heartbeat"))
        .bearer_auth(token)
        .timeout(BEAT)
        .json(&json!({
            "version": env!("CARGO_PKG_VERSION"),
            "state": "idle",
            "callPath": "browser",
        }))
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => response
            .json::<Value>()
            .await
            .is_ok_and(|body| body["data"]["nextBeatSecs"].as_u64() == Some(BEAT.as_secs())),
        _ => false,
    }
}

/// The server's CPU and memory over a window.
struct Usage {
    /// CPU time over wall time: 1.0 is one core busy.
    cpu: f64,
    /// The same CPU time in clock ticks (10 ms): how coarse `cpu` is.
    ticks: u64,
    /// VmRSS, KiB: the mean of samples every [`RSS_SAMPLE`], and the largest.
    rss_mean: f64,
    rss_max: u64,
    /// PSS at the end, KiB (`/proc/<pid>/smaps_rollup`), when readable.
    pss: Option<u64>,
    threads: u64,
    /// CPU used by processes other than the server and this benchmark, as a share of the
    /// machine.
    others: f64,
}

impl Usage {
    async fn measure(pid: u32, window: Duration) -> Usage {
        let ours = std::process::id();
        let (server_before, ours_before, machine_before) =
            (cpu_ticks(pid), cpu_ticks(ours), machine_busy_ticks());
        let started = Instant::now();
        let mut samples = Vec::new();
        let mut next = started;
        while next < started + window {
            tokio::time::sleep_until(next.into()).await;
            samples.push(rss_kib(pid));
            next += RSS_SAMPLE;
        }
        tokio::time::sleep_until((started + window).into()).await;
        let elapsed = started.elapsed().as_secs_f64();
        let server = cpu_ticks(pid) - server_before;
        let busy = cpu_ticks(ours) - ours_before + server;
        let others = machine_busy_ticks()
            .saturating_sub(machine_before)
            .saturating_sub(busy);
        samples.push(rss_kib(pid));
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        Usage {
            cpu: server as f64 / ticks_per_second() / elapsed,
            ticks: server,
            rss_mean: samples.iter().sum::<u64>() as f64 / samples.len() as f64,
            rss_max: samples.iter().copied().max().unwrap_or(0),
            pss: pss_kib(pid),
            threads: threads(pid),
            others: others as f64 / ticks_per_second() / elapsed / cores,
        }
    }

    fn describe(&self) -> String {
        format!(
            "CPU **{:.2} %** of one core ({} clock ticks); VmRSS **{:.1} MiB** (mean, max {:.1}){}; \
             {} threads",
            self.cpu * 100.0,
            self.ticks,
            self.rss_mean / 1024.0,
            self.rss_max as f64 / 1024.0,
            self.pss
                .map(|pss| format!(", PSS {:.1} MiB", pss as f64 / 1024.0))
                .unwrap_or_default(),
            self.threads
        )
    }
}

/// Lets the server's allocator and the kernel catch up before memory is read.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

// ---------------------------------------------------------------------------------------------
// Throughput of one kind of request.

struct Throughput {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Throughput {
    fn report(
        mut self,
        rows: &mut Vec<(String, String)>,
        what: &str,
        unit: &str,
        concurrency: usize,
    ) {
        self.latencies.sort();
        let row = (
            format!("{what}, {} requests, {concurrency} at a time", self.count),
            format!(
                "**{:.0} {unit}**; latency p50 {}, p99 {}",
                self.count as f64 / self.elapsed.as_secs_f64(),
                ms(percentile(&self.latencies, 0.50)),
                ms(percentile(&self.latencies, 0.99)),
            ),
        );
        println!("{}: {}", row.0, row.1);
        rows.push(row);
    }
}

/// Runs `job(0..count)` with `concurrency` in flight; times each and the whole.
async fn run_concurrently<F, Fut>(count: usize, concurrency: usize, job: F) -> Throughput
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let latencies = run_collect(count, concurrency, move |n| {
        let job = job.clone();
        async move {
            let sent = Instant::now();
            job(n).await;
            sent.elapsed()
        }
    })
    .await;
    Throughput {
        count,
        elapsed: started.elapsed(),
        latencies,
    }
}

/// Runs `job(0..count)` with `concurrency` workers; the results in no particular order.
async fn run_collect<T, F, Fut>(count: usize, concurrency: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let job = job.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break results;
                }
                results.push(job(n).await);
            }
        }));
    }
    let mut results = Vec::with_capacity(count);
    for worker in workers {
        results.extend(worker.await.expect("a worker panicked"));
    }
    results
}

// ---------------------------------------------------------------------------------------------
// The API, as a client sees it.

#[derive(Clone)]
struct Api {
    /// JSON calls.
    clinic: ClinicApi,
    /// Event streams, which outlive any request timeout.
    base: String,
    client: Client,
}

impl Api {
    /// Calls the API; panics unless it answers `success: true`. Returns `data`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        self.clinic.call(method, path, token, body).await
    }

    async fn login(&self, email: &str, password: &str) -> Actor {
        self.clinic.login(email, password).await
    }

    /// A new account through demo mode's password-less register-or-login.
    async fn register(&self, role: &str, name: &str) -> Actor {
        self.clinic
            .register(role, &format!("{name}@bench.clinic"))
            .await
    }

    /// The doctor books a 30-minute video appointment two days ahead (no reminder falls due
    /// during the run).
    async fn book(&self, doctor: &Actor, patient_id: &str, agency_id: Option<&str>) -> Value {
        self.book_starting_in(
            doctor,
            patient_id,
            agency_id,
            Duration::from_secs(2 * 24 * 3600),
        )
        .await
    }

    async fn book_starting_in(
        &self,
        doctor: &Actor,
        patient_id: &str,
        agency_id: Option<&str>,
        starts_in: Duration,
    ) -> Value {
        let start = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("valid")
            + starts_in;
        let end = start + Duration::from_secs(30 * 60);
        self.call(
            Method::POST,
            "/appointments",
            Some(&doctor.access_token),
            Some(json!({
                "doctorId": doctor.id,
                "patientId": patient_id,
                "agencyId": agency_id,
                "startTime": start.format(&Rfc3339).expect("format"),
                "endTime": end.format(&Rfc3339).expect("format"),
                "callType": "video",
            })),
        )
        .await
    }

    async fn open_stream(&self, token: &str) -> SseStream {
        open_stream(&self.client, &self.base, token).await
    }
}

/// `GET /events` on `client`'s own connections.
async fn open_stream(client: &Client, base: &str, token: &str) -> SseStream {
    let response = client
        .get(format!("{base}/events"))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET /events: {error}"));
    assert!(
        response.status().is_success(),
        "GET /events: {}",
        response.status()
    );
    SseStream {
        response,
        buffer: Vec::new(),
        event: String::new(),
        data: String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal Server-Sent Events reader: `event:` and `data:` lines, dispatched on a blank line.

struct SseStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    event: String,
    data: String,
}

struct SseMessage {
    event: String,
    data: String,
    /// When the message was complete on this side.
    at: Instant,
}

impl SseStream {
    /// The next message (comments such as heartbeats are skipped); `None` when the stream ends.
    async fn next(&mut self) -> Option<SseMessage> {
        loop {
            while let Some(end) = self.buffer.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches(['\n', '\r']);
                if line.is_empty() {
                    if self.event.is_empty() && self.data.is_empty() {
                        continue;
                    }
                    let event = std::mem::take(&mut self.event);
                    return Some(SseMessage {
                        event: if event.is_empty() {
                            "message".to_owned()
                        } else {
                            event
                        },
                        data: std::mem::take(&mut self.data),
                        at: Instant::now(),
                    });
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => self.event = value.to_owned(),
                    "data" => {
                        if !self.data.is_empty() {
                            self.data.push('\n');
                        }
                        self.data.push_str(value);
                    }
                    _ => {}
                }
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

impl SseStream {
    /// Waits for `ready`, then reads the stream on a task of its own, so each message is
    /// timestamped when it arrives rather than when a measuring loop gets to it.
    async fn forward(mut self) -> mpsc::UnboundedReceiver<SseMessage> {
        expect_ready(&mut self).await;
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = self.next().await {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        receiver
    }
}

async fn expect_ready(stream: &mut SseStream) {
    let first = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("`ready` within 60 s")
        .expect("the stream stays open");
    assert_eq!(first.event, "ready", "first message: {}", first.data);
}

// ---------------------------------------------------------------------------------------------
// Numbers and /proc.

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

fn threads(pid: u32) -> u64 {
    status_field(pid, "Threads:")
}

/// Proportional set size, KiB (`/proc/<pid>/smaps_rollup`), if readable.
fn pss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
}

/// User plus system CPU time of `pid`, in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The command name (field 2) may contain spaces; count from after its closing parenthesis.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// User, nice and system CPU time of the whole machine, in clock ticks (`/proc/stat`).
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let cpu = stat.lines().next().expect("the cpu line");
    // cpu user nice system idle iowait irq softirq steal
    let fields: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|value| value.parse().ok())
        .collect();
    [0, 1, 2, 5, 6]
        .iter()
        .map(|&index| fields.get(index).copied().unwrap_or(0))
        .sum()
}

/// USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The soft limit on open files of this process (`/proc/self/limits`).
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(1024)
}
