#include "common/http/client_address.hpp"

#include <charconv>
#include <string>

namespace stripe_sync {

namespace ip = boost::asio::ip;

namespace {
ip::address normalise(const ip::address& a) {
  // An IPv4 client seen through an IPv6 socket arrives as ::ffff:a.b.c.d.
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  boost::system::error_code ec;
  ip::address addr = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  addr = normalise(addr);
  unsigned max = addr.is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || err != std::errc{} || end != p.data() + p.size() || prefix > max) {
      return std::nullopt;
    }
  }
  return Cidr{addr, prefix};
}

bool contains(const Cidr& cidr, const ip::address& raw) {
  ip::address addr = normalise(raw);
  if (addr.is_v4() != cidr.network.is_v4()) return false;
  if (addr.is_v4()) {
    auto a = addr.to_v4().to_uint();
    auto n = cidr.network.to_v4().to_uint();
    std::uint32_t mask = cidr.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - cidr.prefix);
    return (a & mask) == (n & mask);
  }
  auto a = addr.to_v6().to_bytes();
  auto n = cidr.network.to_v6().to_bytes();
  unsigned bits = cidr.prefix;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
    unsigned take = bits >= 8 ? 8 : bits;
    auto mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((a[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

bool contains_any(std::span<const Cidr> cidrs, const ip::address& addr) {
  for (const auto& c : cidrs)
    if (contains(c, addr)) return true;
  return false;
}

ip::address client_address(const ip::address& peer, std::string_view forwarded_for,
                           std::span<const Cidr> trusted_proxies) {
  ip::address current = normalise(peer);
  if (forwarded_for.empty() || !contains_any(trusted_proxies, current)) return current;
  // Walk right to left: each hop appended the address it received the request from.
  while (!forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    std::string_view item =
        trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    boost::system::error_code ec;
    ip::address hop = ip::make_address(std::string(item), ec);
    if (ec) return current;
    current = normalise(hop);
    if (!contains_any(trusted_proxies, current)) return current;
    if (comma == std::string_view::npos) break;
    forwarded_for = forwarded_for.substr(0, comma);
  }
  return current;
}

}  // namespace stripe_sync
