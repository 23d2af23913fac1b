//! What Vigil keeps in memory once it is running. Starting up runs code that never runs again —
//! migrations, configuration checks, route tables, the first renderings — and the kernel keeps
//! every page of the executable it touched mapped (64 KB at a time, "fault-around"): 15 MB of a
//! 28 MB `.text` right after start, against about 10 MB that an idle Vigil actually goes on using.
//! Once start-up is over, Vigil tells the kernel it no longer needs its executable's pages
//! resident (`madvise(MADV_PAGEOUT)`); what it still runs comes back on first use. On a small
//! machine running a status page, that is the difference an operator sees in `top`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Long enough for every worker's first round (probes, collectors, the first page renderings).
const AFTER_START: Duration = Duration::from_secs(20);

pub fn release_start_up_pages_later(shutdown: CancellationToken) {
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(AFTER_START) => {
                match tokio::task::spawn_blocking(release_executable_pages).await {
                    Ok(Ok(kb)) => tracing::debug!(kb, "start-up code paged out"),
                    Ok(Err(e)) => tracing::debug!(error = %e, "could not page out start-up code"),
                    Err(_) => {}
                }
            }
        }
    });
}

/// Hands freed heap back to the system (glibc keeps it otherwise). Called every 30 s by the live
/// feed. (Paging the executable out again each time was measured and made things worse: the
/// kernel maps code back 64 KB around each page used, and the mean RSS rose from 15.3 to 17.4 MB
/// with more CPU for the faults.)
pub fn hand_back() {
    // SAFETY: malloc_trim only releases free memory; it is safe at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks the kernel to page out this process's mappings of its own executable. Returns the KB
/// advised. Clean, file-backed pages only: nothing is written anywhere, nothing can be lost.
pub fn release_executable_pages() -> std::io::Result<u64> {
    let exe = std::env::current_exe()?;
    let exe = exe.to_string_lossy();
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut advised = 0;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3).unwrap_or_default();
        // Read-only or executable pages of the binary; never its writable data.
        if path != exe || perms.contains('w') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: advice about a mapping of this process that stays mapped; MADV_PAGEOUT only
        // drops clean pages from memory, which are read back from the file when next touched.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        advised += ((end - start) / 1024) as u64;
    }
    Ok(advised)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_executable_pages_are_released_and_the_process_goes_on() {
        let kb = super::release_executable_pages().expect("madvise works on Linux ≥ 5.4");
        assert!(kb > 0, "the test binary's own mappings were found");
        // Code paged out is read back on use: this still runs.
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
