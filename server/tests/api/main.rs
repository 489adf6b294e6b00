//! The API over real HTTP: an in-process server on 127.0.0.1:0 with SQLite in a temporary
//! directory, driven with reqwest.

mod common;
mod login;
mod postgres;
mod requests;
mod storage;
mod tokens;
