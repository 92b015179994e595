//! Small scoped-thread maps used for signing, parsing and verifying in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Maps `f` over consecutive chunks of `chunk` items on up to `threads` threads
/// (the calling thread included) and returns the results in chunk order. Threads
/// take the next chunk when they finish one, so a core slowed by other work
/// takes fewer chunks. `f` receives the index of the chunk's first item.
pub fn map_chunks_dynamic<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    chunk: usize,
    f: impl Fn(usize, &[T]) -> U + Sync,
) -> Vec<U> {
    let chunk = chunk.max(1);
    let count = items.len().div_ceil(chunk);
    let run = |c: usize| {
        let start = c * chunk;
        f(start, &items[start..(start + chunk).min(items.len())])
    };
    let threads = threads.max(1).min(count);
    if threads <= 1 {
        return (0..count).map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let c = next.fetch_add(1, Ordering::Relaxed);
            if c >= count {
                return done;
            }
            done.push((c, run(c)));
        }
    };
    let mut all = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for helper in helpers {
            match helper.join() {
                Ok(part) => all.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    all.sort_unstable_by_key(|(c, _)| *c);
    all.into_iter().map(|(_, u)| u).collect()
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

    #[test]
    fn dynamic_chunks_cover_every_item_once_in_order() {
        let items: Vec<u32> = (0..1003).collect();
        for threads in [1, 2, 5] {
            let out = map_chunks_dynamic(&items, threads, 10, |start, part| {
                assert_eq!(part[0] as usize, start);
                part.iter().map(|x| x * 2).collect::<Vec<_>>()
            });
            assert_eq!(out.len(), 101);
            let flat: Vec<u32> = out.into_iter().flatten().collect();
            assert_eq!(flat, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
        assert!(map_chunks_dynamic(&[] as &[u32], 2, 10, |_, p| p.len()).is_empty());
    }
}
