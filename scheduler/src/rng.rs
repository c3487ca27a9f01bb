//! The seeded generator behind the lottery policy and the simulator: the
//! kernel's ([`spin_kernel::rng::Rng`]).

pub use spin_kernel::rng::Rng;
