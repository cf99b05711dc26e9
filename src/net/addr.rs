//! Turning what the user wrote into socket addresses: asyncio's `getaddrinfo` step.
//!
//! asyncio's `open_connection(host, port)` first calls `loop.getaddrinfo`, which runs the
//! blocking C resolver in the default thread pool, then tries each address in turn. We do
//! the same, with one shortcut asyncio also takes (`_ipaddr_info`): an address that is
//! already numeric (`"127.0.0.1:80"`, a `SocketAddr`, `(IpAddr, u16)`) is parsed on the
//! spot and never visits the pool.
//!
//! [`ToSocketAddrs`] mirrors std's trait of the same name but is sealed and hands over an
//! owned [`Target`], so a borrowed `&str` can still be resolved on another thread.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses: a `SocketAddr`, `"host:port"`,
/// `(host, port)`, `(IpAddr, port)`, a slice of `SocketAddr`s, or a reference to any of
/// these. Host names are resolved on the loop's thread pool by `connect`-like calls.
///
/// asyncio: the `(host, port)` arguments of `open_connection` / `create_server`, resolved
/// through `loop.getaddrinfo`. This trait is sealed: it has the same implementors as std's
/// `ToSocketAddrs`, and users cannot add more.
#[doc(alias = "getaddrinfo")]
pub trait ToSocketAddrs: sealed::ToTarget {}

mod sealed {
    /// Hidden half of [`super::ToSocketAddrs`]: produces the owned [`Target`].
    #[allow(unreachable_pub)] // public for the type system, unreachable for users (sealed)
    pub trait ToTarget {
        fn to_target(&self) -> Target;
    }

    /// Either addresses ready to use, or a host name still to resolve.
    #[allow(unreachable_pub)]
    #[derive(Debug)]
    pub enum Target {
        Addrs(Vec<std::net::SocketAddr>),
        /// `"host:port"`, resolved by std.
        HostPort(String),
        /// A host name and a port.
        Host(String, u16),
    }
}

pub(crate) use sealed::Target;

impl Target {
    /// Resolves on the calling thread (blocking for host names), as std does.
    pub(crate) fn resolve_blocking(self) -> io::Result<Vec<SocketAddr>> {
        use std::net::ToSocketAddrs as _;
        match self {
            Target::Addrs(addrs) => Ok(addrs),
            Target::HostPort(s) => Ok(s.to_socket_addrs()?.collect()),
            Target::Host(host, port) => Ok((host.as_str(), port).to_socket_addrs()?.collect()),
        }
    }

    /// Resolves host names on the thread pool (asyncio's `loop.getaddrinfo`); numeric
    /// addresses come back at once.
    pub(crate) async fn resolve(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Target::Addrs(addrs) => Ok(addrs),
            lookup => match crate::to_thread(move || lookup.resolve_blocking()).await {
                Ok(result) => result,
                Err(e) => Err(io::Error::other(format!("the address lookup failed: {e}"))),
            },
        }
    }
}

/// The error for a name that resolved to nothing (std's wording).
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: sealed::ToTarget + ?Sized> sealed::ToTarget for &T {
    fn to_target(&self) -> Target {
        (**self).to_target()
    }
}

macro_rules! numeric {
    ($($ty:ty => |$v:ident| $addrs:expr;)*) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::ToTarget for $ty {
            fn to_target(&self) -> Target {
                let $v = self;
                Target::Addrs($addrs)
            }
        }
    )*};
}

numeric! {
    SocketAddr => |a| vec![*a];
    SocketAddrV4 => |a| vec![SocketAddr::V4(*a)];
    SocketAddrV6 => |a| vec![SocketAddr::V6(*a)];
    (IpAddr, u16) => |a| vec![SocketAddr::new(a.0, a.1)];
    (Ipv4Addr, u16) => |a| vec![SocketAddr::new(a.0.into(), a.1)];
    (Ipv6Addr, u16) => |a| vec![SocketAddr::new(a.0.into(), a.1)];
    [SocketAddr] => |a| a.to_vec();
    Vec<SocketAddr> => |a| a.clone();
}

impl ToSocketAddrs for str {}
impl sealed::ToTarget for str {
    fn to_target(&self) -> Target {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Target::Addrs(vec![addr]),
            Err(_) => Target::HostPort(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::ToTarget for String {
    fn to_target(&self) -> Target {
        self.as_str().to_target()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::ToTarget for (&str, u16) {
    fn to_target(&self) -> Target {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Target::Addrs(vec![SocketAddr::new(ip, port)]),
            Err(_) => Target::Host(host.to_owned(), port),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::ToTarget for (String, u16) {
    fn to_target(&self) -> Target {
        (self.0.as_str(), self.1).to_target()
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::ToTarget;
    use super::*;

    #[test]
    fn numeric_addresses_need_no_lookup() {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        for target in [
            "127.0.0.1:80".to_target(),
            addr.to_target(),
            <&SocketAddr as ToTarget>::to_target(&&addr),
            ("127.0.0.1", 80).to_target(),
            (Ipv4Addr::LOCALHOST, 80).to_target(),
        ] {
            assert!(
                matches!(target, Target::Addrs(ref a) if a == &[addr]),
                "{target:?}"
            );
        }
        assert!(matches!("[::1]:80".to_target(), Target::Addrs(_)));
    }

    #[test]
    fn host_names_are_looked_up() {
        assert!(matches!("localhost:80".to_target(), Target::HostPort(_)));
        assert!(matches!(("localhost", 80).to_target(), Target::Host(..)));
        let addrs = ("localhost", 80).to_target().resolve_blocking().unwrap();
        assert!(addrs.iter().all(|a| a.port() == 80 && a.ip().is_loopback()));
    }
}
