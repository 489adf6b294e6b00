//! The API over real HTTP: an in-process server on 127.0.0.1:0 with SQLite in a temporary
//! directory, driven with reqwest.

mod accounts;
mod admin;
mod appointments;
mod calls;
mod clinic;
mod common;
mod device_commands;
mod devices;
mod enrolment;
mod events;
mod fleet;
mod fuzz;
mod jitsi_tokens;
mod join_request_machine;
mod join_requests;
mod kiosk_exit;
mod login;
mod openapi;
mod postgres;
mod prosody;
mod rate_limit;
mod register_or_login;
mod reminders;
mod requests;
mod roles;
mod sse;
mod storage;
mod tokens;
