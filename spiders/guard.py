"""Address guard: never let a configured or discovered URL reach loopback, private or metadata hosts."""
import ipaddress
import socket
import urllib.parse

# Cloud metadata endpoints are link-local or private already; named here so the reason is clear.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("192.0.0.192"),
    ipaddress.ip_address("fd00:ec2::254"),
}
METADATA_HOSTS = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data"}


def address_problem(ip):
    """Why an IP address is off limits (None when it is a public address)."""
    ip = ipaddress.ip_address(ip)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10"):
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    return None


def resolve(host):
    """Every address `host` resolves to (empty when it does not resolve)."""
    try:
        return sorted({info[4][0].split("%")[0] for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError, OSError):
        return []


def check_url(url, allow_private=False, resolver=resolve):
    """None when `url` may be fetched, else a one-line reason for refusing it."""
    if allow_private:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"refused {url}: only http(s) URLs are crawled"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return f"refused {url}: no host"
    if host in METADATA_HOSTS or host == "localhost" or host.endswith((".localhost", ".internal")):
        return f"refused {url}: {host} is an internal name"
    # A host that resolves to several addresses is refused if any is off limits, since the
    # connection could use any of them.
    for ip in resolver(host):
        problem = address_problem(ip)
        if problem:
            return f"refused {url}: {host} resolves to {ip}, {problem} (set allow_private = true on the source to permit)"
    return None
