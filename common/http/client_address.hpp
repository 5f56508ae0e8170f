#pragma once
// Who is calling: the source allowlist (WEBHOOK_ALLOWED_CIDRS) and X-Forwarded-For, which is
// believed only when the TCP peer is a trusted proxy (TRUSTED_PROXY_CIDRS). Pure functions.
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <span>
#include <string_view>

namespace stripe_sync {

struct Cidr {
  boost::asio::ip::address network;
  unsigned prefix = 0;
};

// "10.0.0.0/8", "2600:1f18::/32", or a bare address (a /32 or /128).
std::optional<Cidr> parse_cidr(std::string_view text);

bool contains(const Cidr& cidr, const boost::asio::ip::address& addr);
bool contains_any(std::span<const Cidr> cidrs, const boost::asio::ip::address& addr);

// The client's address: the peer itself, unless the peer is a trusted proxy, in which case the
// right-most X-Forwarded-For entry that is not itself a trusted proxy. A malformed entry stops
// the walk at the last address known to be good (never a value the client could forge).
boost::asio::ip::address client_address(const boost::asio::ip::address& peer,
                                        std::string_view forwarded_for,
                                        std::span<const Cidr> trusted_proxies);

}  // namespace stripe_sync
