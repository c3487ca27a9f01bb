//! In-kernel extensions built on the graph: handlers installed on
//! `UDP.PacketArrived` and `TCP.PacketArrived` with indexed port guards.

pub mod echo;
pub mod forward;

#[cfg(test)]
mod tests;
