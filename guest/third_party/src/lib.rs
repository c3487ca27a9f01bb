//! Empty: this package only carries the SQLite and Lua source crates.
