//! Gives back the memory of start-up. Starting reads the configuration, runs the migrations,
//! opens the keys, checks the message catalog and the theme: code run once, but the kernel maps
//! the binary in 64 KiB runs around every page touched, so after start 18–19 MiB of the
//! 29 MiB of code and constants stayed resident — more than half of the server's memory
//! under load (bench/RESULTS.md). Once serving, `release_start_up_code` asks the kernel to
//! reclaim those pages (`madvise(MADV_PAGEOUT)`, Linux 5.4+); what serving uses comes back
//! on first use. Only mappings whose pages are all clean copies of the binary file are advised
//! (a mapping holding anonymous pages, such as the relocated read-only data, is left alone).
//! Only `portcullis serve` calls it (not the tests, which start many servers in one process).

/// Reclaims the resident pages of this executable's read-only mappings (code and constants),
/// returning how many bytes were advised. Never fails: an error is logged at debug level.
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
    let exe = exe.to_string_lossy();
    let maps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut advised = 0;
    for (start, end) in read_only_ranges(&maps, &exe) {
        // SAFETY: the range is one of this process's own file-backed, read-only mappings, as
        // listed by the kernel; MADV_PAGEOUT only drops clean pages, which later accesses fault
        // back in from the file. No memory is unmapped or changed.
        let rc =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        advised += end - start;
    }
    Ok(advised)
}

#[cfg(not(target_os = "linux"))]
fn advise_executable() -> std::io::Result<usize> {
    Ok(0)
}

/// The `start-end` ranges of `/proc/self/smaps` entries that map `path` without write access
/// and hold no anonymous (written) pages.
fn read_only_ranges(smaps: &str, path: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    // The current entry, if it maps `path` read-only: its range and whether it is clean.
    let mut current: Option<(usize, usize, bool)> = None;
    let mut close = |entry: Option<(usize, usize, bool)>| {
        if let Some((start, end, true)) = entry {
            ranges.push((start, end));
        }
    };
    for line in smaps.lines() {
        if let Some(kb) = line.strip_prefix("Anonymous:") {
            let anonymous = kb.trim().trim_end_matches("kB").trim() != "0";
            if let Some(entry) = current.as_mut() {
                entry.2 = !anonymous;
            }
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // A new entry's header line.
        close(current.take());
        let mapped = fields.nth(3);
        if mapped == Some(path) && perms.as_bytes().get(1) == Some(&b'-') && end > start {
            // Clean until an `Anonymous:` line says otherwise; unknown counts as written.
            current = Some((start, end, false));
        }
    }
    close(current.take());
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_clean_read_only_mappings_of_the_binary() {
        let smaps = "\
55d0c0000000-55d0c0400000 r--p 00000000 fd:01 42 /usr/bin/portcullis
Size:               4096 kB
Anonymous:             0 kB
55d0c0400000-55d0c1c00000 r-xp 00400000 fd:01 42 /usr/bin/portcullis
Rss:                1024 kB
Anonymous:             0 kB
55d0c1c00000-55d0c1c80000 r--p 01c00000 fd:01 42 /usr/bin/portcullis
Anonymous:           512 kB
55d0c1c80000-55d0c1d00000 rw-p 01c80000 fd:01 42 /usr/bin/portcullis
Anonymous:            12 kB
55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0 [heap]
Anonymous:          1024 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7 /usr/lib/libcrypto.so.3
Anonymous:             0 kB
55d0c3000000-55d0c3100000 r--p 00000000 fd:01 42 /usr/bin/portcullis
VmFlags: rd mr mw me
bogus line";
        assert_eq!(
            read_only_ranges(smaps, "/usr/bin/portcullis"),
            vec![
                (0x55d0c0000000, 0x55d0c0400000),
                (0x55d0c0400000, 0x55d0c1c00000)
            ]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn advising_this_test_binary_works() {
        assert!(advise_executable().unwrap() > 0);
    }
}
