//! Join requests: the lobby in which an agency (or, with the waiting room on, a patient) asks the
//! doctor to be let into a call.
//!
//! A request is `pending` until decided, then `approved` or `rejected` for good; or until its
//! requester withdraws it, then `withdrawn` for good (asking again makes a new request). The
//! decision and the withdrawal are the same conditional update (`… WHERE status = 'pending'`),
//! so of two racing calls exactly one changes the row and writes the audit row, in one
//! transaction; the other finds the request settled and is told whether it agreed (harmless)
//! or not (409).

pub mod routes;
pub mod store;
