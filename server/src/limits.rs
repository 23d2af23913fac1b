//! Per-client limits on what a stranger can hold or repeat before any database work: open live
//! streams, and sign-in attempts. A client is its address; IPv6 addresses count by their /64 (one
//! host is handed a whole /64, and would otherwise be unlimited).

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// What one client is counted as.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
        v4 => v4,
    }
}

pub struct Limits {
    login: DefaultKeyedRateLimiter<IpAddr>,
    streams: Mutex<HashMap<IpAddr, usize>>,
    streams_per_client: usize,
}

/// One open stream, counted against its client until dropped.
pub struct StreamSlot {
    limits: Arc<Limits>,
    key: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.limits.streams.lock().expect("stream count poisoned");
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl Limits {
    pub fn new(login_per_minute: u32, streams_per_client: usize) -> Limits {
        Limits {
            login: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(login_per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            streams: Mutex::default(),
            streams_per_client,
        }
    }

    /// A sign-in attempt from `ip`: `Err(seconds)` to wait when it has tried too often.
    pub fn login(&self, ip: IpAddr) -> Result<(), u64> {
        if self.login.len() > 100_000 {
            self.login.retain_recent();
        }
        self.login.check_key(&client_key(ip)).map_err(|not_until| {
            not_until
                .wait_time_from(governor::clock::DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// A live stream for `ip`, if it holds fewer than its share.
    pub fn open_stream(self: &Arc<Self>, ip: IpAddr) -> Option<StreamSlot> {
        let key = client_key(ip);
        let mut open = self.streams.lock().expect("stream count poisoned");
        let n = open.entry(key).or_default();
        if *n >= self.streams_per_client {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            limits: self.clone(),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v6_client_is_its_64_and_streams_are_given_back() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(
            client_key(a),
            client_key("2001:db8:1:3::1".parse().unwrap())
        );
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());

        let limits = Arc::new(Limits::new(2, 2));
        let one = limits.open_stream(a).unwrap();
        let _two = limits.open_stream(b).unwrap();
        assert!(limits.open_stream(a).is_none(), "a third from the same /64");
        drop(one);
        assert!(limits.open_stream(a).is_some());
        assert!(limits.login(a).is_ok() && limits.login(b).is_ok());
        assert!(
            limits.login(a).is_err(),
            "the /64's third attempt in a minute"
        );
    }
}
