#include "ingress/webhook.hpp"

#include <gtest/gtest.h>

#include "tests/support/fixtures.hpp"

namespace stripe_sync::ingress {
namespace {

constexpr const char* kSecret = "whsec_unit";
constexpr std::int64_t kNow = 1795500100;

WebhookInput input(const std::string& body, const std::string& sig,
                   std::string_view ct = "application/json; charset=utf-8") {
  return {sig, ct, body, body.size(), kNow};
}

TEST(Webhook, AcceptsASignedEventAndKeysItByCustomer) {
  std::string body = test::read_fixture("events/payment_method.attached.json");
  SignatureVerifier v({kSecret}, 300);
  std::vector<std::string> secrets{kSecret};
  auto d = check_webhook(v, input(body, sign_payload(body, secrets, kNow)));
  ASSERT_TRUE(std::holds_alternative<VerifiedEvent>(d));
  EXPECT_EQ(std::get<VerifiedEvent>(d).key, "cus_Rx7Example001");
  EXPECT_EQ(std::get<VerifiedEvent>(d).envelope.id, "evt_1Sx00004ExampleA");
}

TEST(Webhook, RejectsABadSignatureBeforeLookingAtTheBody) {
  SignatureVerifier v({kSecret}, 300);
  std::vector<std::string> other{"whsec_other"};
  auto d = check_webhook(v, input("not json", sign_payload("not json", other, kNow)));
  ASSERT_TRUE(std::holds_alternative<WebhookRejection>(d));
  EXPECT_EQ(std::get<WebhookRejection>(d).code, ErrorCode::invalid_signature);
}

TEST(Webhook, RejectsASignedBodyThatIsNotAnEvent) {
  SignatureVerifier v({kSecret}, 300);
  std::vector<std::string> secrets{kSecret};
  std::string body = R"({"hello":"world"})";
  auto d = check_webhook(v, input(body, sign_payload(body, secrets, kNow)));
  ASSERT_TRUE(std::holds_alternative<WebhookRejection>(d));
  EXPECT_EQ(std::get<WebhookRejection>(d).code, ErrorCode::invalid_event);
  EXPECT_EQ(std::get<WebhookRejection>(d).message, "missing field: id");
}

TEST(Webhook, RejectsAWrongContentType) {
  SignatureVerifier v({kSecret}, 300);
  std::vector<std::string> secrets{kSecret};
  std::string body = test::read_fixture("events/customer.created.json");
  for (std::string_view ct : {"text/plain", "", "application/jsonp", "application/x-www-form-urlencoded"}) {
    auto d = check_webhook(v, input(body, sign_payload(body, secrets, kNow), ct));
    ASSERT_TRUE(std::holds_alternative<WebhookRejection>(d)) << ct;
    EXPECT_EQ(std::get<WebhookRejection>(d).code, ErrorCode::bad_request);
  }
  auto ok = check_webhook(v, input(body, sign_payload(body, secrets, kNow), "Application/JSON"));
  EXPECT_TRUE(std::holds_alternative<VerifiedEvent>(ok));
}

TEST(Webhook, MessageCarriesTheRawBodyKeyAndDesignedHeaders) {
  std::string body = test::read_fixture("events/customer.subscription.updated.json");
  SignatureVerifier v({kSecret}, 300);
  std::vector<std::string> secrets{kSecret};
  auto ev = std::get<VerifiedEvent>(check_webhook(v, input(body, sign_payload(body, secrets, kNow))));
  EventHeaders storage;
  auto m = event_message("stripe.events", ev, body, 1795500100123, "webhook", storage);
  EXPECT_EQ(m.topic, "stripe.events");
  EXPECT_EQ(m.key, "cus_Rx7Example001");
  EXPECT_EQ(m.value.data(), body.data());  // borrowed, not copied
  std::map<std::string, std::string> h;
  for (const auto& x : m.headers) h[std::string(x.name)] = std::string(x.value);
  EXPECT_EQ(h["stripe-event-id"], "evt_1Sx00009ExampleA");
  EXPECT_EQ(h["stripe-event-type"], "customer.subscription.updated");
  EXPECT_EQ(h["stripe-event-created"], "1795500063");
  EXPECT_EQ(h["ingress-received-ms"], "1795500100123");
  EXPECT_EQ(h["source"], "webhook");
  EXPECT_EQ(h.size(), 5u);
}

}  // namespace
}  // namespace stripe_sync::ingress
