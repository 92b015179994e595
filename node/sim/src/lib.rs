//! A deterministic simulator that runs whole networks of consensus state machines from a seed.
