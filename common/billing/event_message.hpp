#pragma once
// The Kafka message for one Stripe event, whoever received it (the webhook, a backfill): the
// raw JSON byte for byte, keyed by the event's customer, with the headers of DESIGN.md.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/billing/envelope.hpp"
#include "common/kafka/event_publisher.hpp"

namespace stripe_sync {

// Header values kept alive for the duration of one publish() call.
struct EventHeaders {
  std::string created;
  std::string received_ms;
};

// `body` must stay alive until the publish completes (set `owner`, or wait for it).
OutgoingMessage event_message(std::string_view topic, const Envelope& envelope, std::string_view key,
                              std::string_view body, std::int64_t received_ms, std::string_view source,
                              EventHeaders& storage);

}  // namespace stripe_sync
