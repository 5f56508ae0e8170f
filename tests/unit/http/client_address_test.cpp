#include "common/http/client_address.hpp"

#include <gtest/gtest.h>

namespace stripe_sync {
namespace {

namespace ip = boost::asio::ip;

std::vector<Cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (auto* t : texts) out.push_back(*parse_cidr(t));
  return out;
}

TEST(ClientAddress, ParsesV4AndV6Cidrs) {
  EXPECT_TRUE(parse_cidr("10.0.0.0/8"));
  EXPECT_TRUE(parse_cidr("2600:1f18::/32"));
  EXPECT_TRUE(parse_cidr("3.18.12.63"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/33"));
  EXPECT_FALSE(parse_cidr("10.0.0/8"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/"));
  EXPECT_FALSE(parse_cidr("::/129"));
}

TEST(ClientAddress, MatchesPrefixes) {
  auto c = *parse_cidr("192.168.4.0/22");
  EXPECT_TRUE(contains(c, ip::make_address("192.168.7.255")));
  EXPECT_FALSE(contains(c, ip::make_address("192.168.8.0")));
  auto v6 = *parse_cidr("2600:1f18::/32");
  EXPECT_TRUE(contains(v6, ip::make_address("2600:1f18:ffff::1")));
  EXPECT_FALSE(contains(v6, ip::make_address("2600:1f19::1")));
  EXPECT_FALSE(contains(v6, ip::make_address("10.0.0.1")));
  EXPECT_TRUE(contains(*parse_cidr("0.0.0.0/0"), ip::make_address("8.8.8.8")));
}

TEST(ClientAddress, TreatsV4MappedV6AsV4) {
  auto c = *parse_cidr("3.18.12.63");
  EXPECT_TRUE(contains(c, ip::make_address("::ffff:3.18.12.63")));
}

TEST(ClientAddress, IgnoresForwardedForFromAnUntrustedPeer) {
  auto trusted = cidrs({"10.0.0.0/8"});
  auto a = client_address(ip::make_address("203.0.113.9"), "3.18.12.63", trusted);
  EXPECT_EQ(a.to_string(), "203.0.113.9");
}

TEST(ClientAddress, BelievesForwardedForFromATrustedProxy) {
  auto trusted = cidrs({"10.0.0.0/8"});
  auto a = client_address(ip::make_address("10.1.1.1"), "3.18.12.63", trusted);
  EXPECT_EQ(a.to_string(), "3.18.12.63");
}

TEST(ClientAddress, TakesTheRightMostUntrustedHop) {
  auto trusted = cidrs({"10.0.0.0/8"});
  // The client forged the first entry; the proxy chain appended the real one.
  auto a = client_address(ip::make_address("10.1.1.1"), "3.18.12.63, 198.51.100.7, 10.2.2.2", trusted);
  EXPECT_EQ(a.to_string(), "198.51.100.7");
}

TEST(ClientAddress, StopsAtAMalformedHop) {
  auto trusted = cidrs({"10.0.0.0/8"});
  auto a = client_address(ip::make_address("10.1.1.1"), "3.18.12.63, junk", trusted);
  EXPECT_EQ(a.to_string(), "10.1.1.1");
}

}  // namespace
}  // namespace stripe_sync
