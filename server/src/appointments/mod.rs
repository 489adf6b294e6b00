//! Appointments: booking, listing, changing and cancelling, and the doctor starting and ending
//! the meeting. Who may see or change one is decided in [`access`].

pub mod access;
pub mod routes;
pub mod store;

pub use access::Party;
pub use store::AppointmentRecord;
