//! Gives back the memory of start-up. Starting reads the configuration, runs the migrations,
//! opens the keys, checks the message catalog and the theme: code run once, but the kernel maps
//! a file's pages by the folio (64 KiB–2 MiB, however the page cache read or wrote it) and
//! around every page touched ("fault-around"), so after start 18–19 MiB of the binary's code
//! stayed mapped — half the server's memory under load (bench/RESULTS.md). Once serving,
//! [`release_start_up_code`] unmaps those pages from this process (`madvise(MADV_DONTNEED)`),
//! turns read-ahead off for them (`MADV_RANDOM`) and drops the binary's pages no process maps
//! from the page cache (`POSIX_FADV_DONTNEED`): the code serving uses comes back at its first
//! use, read from the file in single pages, so what stays mapped is close to the code that runs
//! (laid out together by the linker: `build.rs`).
//!
//! Only mappings of the executable that are read-only and hold no private (copy-on-write) page
//! are advised: for those, dropping a page can only ever bring back the same bytes from the file.
//! The relocated read-only data (RELRO) has private pages, and is left alone.
//!
//! Tried before (and dropped, bench/RESULTS.md 2026-12-07): `MADV_PAGEOUT` with read-ahead on,
//! which cost 10–15% of the RS256 token rate in some runs. Only `portcullis serve` calls this
//! (not the tests, which run many servers in one process).

/// Unmaps the resident pages of this executable's clean read-only mappings (code and
/// constants); returns how many bytes were advised. Never fails: an error is logged.
pub fn release_start_up_code() -> usize {
    match advise_executable() {
        Ok(bytes) => {
            tracing::debug!(bytes, "start-up code given back");
            bytes
        }
        Err(e) => {
            tracing::debug!(error = %e, "could not give back start-up code");
            0
        }
    }
}

#[cfg(target_os = "linux")]
fn advise_executable() -> std::io::Result<usize> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut advised = 0;
    for (start, end) in clean_read_only(&smaps, &exe.to_string_lossy()) {
        let range = start as *mut libc::c_void;
        // SAFETY: the range is one of this process's own file-backed mappings that is not
        // writable and holds no private (copy-on-write) page, in memory or swapped out, as the
        // kernel just listed it (a read-only mapping cannot gain one since):
        // MADV_DONTNEED drops only page-table entries of page-cache pages, which the next
        // access maps again from the unchanged file, and MADV_RANDOM only turns off read-ahead
        // for it. No memory content changes.
        let rc = unsafe { libc::madvise(range, end - start, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above.
        if unsafe { libc::madvise(range, end - start, libc::MADV_RANDOM) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        advised += end - start;
    }
    if advised > 0 {
        // The file this process runs, even when its path was since replaced or removed.
        if let Err(e) = drop_cached_folios(std::path::Path::new("/proc/self/exe")) {
            tracing::debug!(error = %e, "could not drop the binary's cached pages");
        }
    }
    Ok(advised)
}

/// Asks the kernel to drop the executable's pages from the page cache that no process maps
/// (`POSIX_FADV_DONTNEED`; mapped pages stay). The kernel keeps a file's cached pages in large
/// folios, as it read or wrote them, and maps a whole folio on a fault: one function of a
/// 512 KiB folio maps all of it. With the mapping's read-ahead off (`MADV_RANDOM`), code touched
/// from here on is read back in single pages, so what the server keeps mapped is the pages it
/// runs. A page read back is read from the disk once. Blocks (on the disk, when the binary was
/// just written): never call it on the async executor.
#[cfg(target_os = "linux")]
fn drop_cached_folios(exe: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(exe)?;
    // Pages written but not yet on the disk (a binary copied into place just before it was
    // started) are not dropped: write them out first. Where that can't be done (a read-only
    // file system has none), the clean pages are still dropped.
    if let Err(e) = file.sync_data() {
        tracing::debug!(error = %e, "could not write out the binary's pages");
    }
    // SAFETY: a valid descriptor of a file opened for reading; advice changes no content.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn advise_executable() -> std::io::Result<usize> {
    Ok(0)
}

/// The `start-end` ranges of `/proc/self/smaps` entries that map `path` without write access
/// and with no private page, in memory or swapped out (`Anonymous: 0 kB`, `Swap: 0 kB`).
fn clean_read_only(smaps: &str, path: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    // The entry being read: its range if it maps `path` read-only, and whether each of the two
    // counts was seen and zero.
    let mut entry: Option<((usize, usize), bool, bool)> = None;
    let mut finish = |entry: Option<((usize, usize), bool, bool)>| {
        if let Some((range, true, true)) = entry {
            ranges.push(range);
        }
    };
    for line in smaps.lines() {
        if let Some(header) = header(line) {
            finish(entry.take());
            entry = header
                .filter(|h| h.2 == path && !h.3)
                .map(|h| ((h.0, h.1), false, false));
        } else if let Some((_, anonymous, swap)) = entry.as_mut() {
            if let Some(kb) = line.strip_prefix("Anonymous:") {
                *anonymous = zero_kb(kb);
            } else if let Some(kb) = line.strip_prefix("Swap:") {
                *swap = zero_kb(kb);
            }
        }
    }
    finish(entry);
    ranges
}

fn zero_kb(value: &str) -> bool {
    value.trim().strip_suffix("kB").map(str::trim) == Some("0")
}

/// An entry's header line (`start-end perms offset dev inode path`): `None` for any other
/// line; `Some(None)` for a header that can't be read (nothing of that entry is advised);
/// otherwise start, end, path and whether it is writable.
#[allow(clippy::type_complexity)]
fn header(line: &str) -> Option<Option<(usize, usize, &str, bool)>> {
    let mut fields = line.split_whitespace();
    let range = fields.next()?;
    let (start, end) = range.split_once('-')?;
    let (Ok(start), Ok(end)) = (
        usize::from_str_radix(start, 16),
        usize::from_str_radix(end, 16),
    ) else {
        return None;
    };
    let Some(perms) = fields.next().filter(|p| p.len() == 4) else {
        return Some(None);
    };
    let path = fields.nth(3).unwrap_or("");
    Some((end > start).then_some((start, end, path, perms.as_bytes()[1] == b'w')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c0400000 r--p 00000000 fd:01 42 /usr/bin/portcullis
Size:               4096 kB
Rss:                1024 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd mr mw me dw sd
55d0c0400000-55d0c1c00000 r-xp 00400000 fd:01 42 /usr/bin/portcullis
Size:              24576 kB
Anonymous:             0 kB
Swap:                  0 kB
55d0c1c00000-55d0c1d00000 r--p 01c00000 fd:01 42 /usr/bin/portcullis
Anonymous:           512 kB
Swap:                  0 kB
55d0c1d00000-55d0c1e00000 r--p 01d00000 fd:01 42 /usr/bin/portcullis
Anonymous:             0 kB
Swap:                 64 kB
55d0c1e00000-55d0c1f00000 rw-p 01e00000 fd:01 42 /usr/bin/portcullis
Anonymous:             0 kB
Swap:                  0 kB
55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0 [heap]
Anonymous:          1024 kB
Swap:                  0 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7 /usr/lib/libcrypto.so.3
Anonymous:             0 kB
Swap:                  0 kB
55d0c3000000-55d0c3100000 r--p 02000000 fd:01 42 /usr/bin/portcullis
Anonymous:             0 kB
";

    #[test]
    fn only_clean_read_only_mappings_of_the_binary() {
        assert_eq!(
            clean_read_only(SMAPS, "/usr/bin/portcullis"),
            vec![
                (0x55d0c0000000, 0x55d0c0400000),
                (0x55d0c0400000, 0x55d0c1c00000)
            ]
        );
    }

    #[test]
    fn a_relocated_swapped_writable_or_unread_mapping_is_never_advised() {
        let ranges = clean_read_only(SMAPS, "/usr/bin/portcullis");
        // Private pages in memory (relocated), private pages in swap, writable, and an entry
        // whose Swap count was never read.
        for start in [
            0x55d0c1c00000,
            0x55d0c1d00000,
            0x55d0c1e00000,
            0x55d0c3000000,
        ] {
            assert!(ranges.iter().all(|r| r.0 != start), "{start:x}");
        }
        assert!(clean_read_only(SMAPS, "/nowhere").is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn advising_this_test_binary_leaves_it_working() {
        assert!(advise_executable().unwrap() > 0);
        // The code runs on after its pages were dropped: they came back from the file.
        assert_eq!(
            clean_read_only(SMAPS, "/usr/bin/portcullis").len(),
            2,
            "still running"
        );
        // Read-ahead is off for every range advised ("rr": VM_RAND_READ).
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let advised = clean_read_only(&smaps, &exe);
        assert!(!advised.is_empty());
        let mut current = None;
        let mut checked = 0;
        for line in smaps.lines() {
            if let Some(h) = header(line) {
                current = h.map(|h| (h.0, h.1));
            } else if let Some(flags) = line.strip_prefix("VmFlags:") {
                if current.is_some_and(|r| advised.contains(&r)) {
                    assert!(flags.split_whitespace().any(|f| f == "rr"), "{line}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, advised.len());
    }
}
