//! A small scoped-thread map used for signing, parsing and verifying in parallel.

/// Number of worker threads to use: the machine's available parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Maps `f` over `items` preserving order, splitting the work across threads when
/// there are at least `min_per_thread` items per thread.
pub fn map_chunks<T: Sync, U: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    map_chunks_with(items, default_threads(), min_per_thread, f)
}

/// As [`map_chunks`] with an explicit thread count.
pub fn map_chunks_with<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    min_per_thread: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    let threads = threads
        .max(1)
        .min(items.len() / min_per_thread.max(1))
        .max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preserves_order_across_threads() {
        let items: Vec<u32> = (0..1000).collect();
        let out = map_chunks_with(&items, 4, 10, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(map_chunks_with(&[] as &[u32], 4, 10, |x| *x).is_empty());
    }
}
