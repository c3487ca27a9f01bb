//! In-kernel extensions built on the graph: handlers installed on
//! `UDP.PacketArrived` with an indexed port guard.

pub mod echo;
pub mod forward;
