#pragma once
// The webhook's decision, with no I/O: is this request a verified Stripe event, and if so what
// goes to Kafka. The HTTP session and the producer only move the bytes this decides about.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/billing/envelope.hpp"
#include "common/core/error_body.hpp"
#include "common/billing/event_message.hpp"
#include "common/kafka/event_publisher.hpp"
#include "common/stripe/signature.hpp"

namespace stripe_sync::ingress {

struct WebhookInput {
  std::string_view signature_header;
  std::string_view content_type;
  std::string_view body;
  std::size_t body_capacity = 0;  // bytes readable from body.data(): lets simdjson parse in place
  std::int64_t now_s = 0;
};

// What became of a webhook request: the `outcome` label of stripe_ingress_webhooks_total.
enum class WebhookOutcome {
  accepted, invalid_signature, invalid_event, bad_request, forbidden, payload_too_large, upstream_unavailable, count
};

std::string_view to_string(WebhookOutcome outcome);
// The HTTP status a webhook request with this outcome is answered with.
unsigned http_status(WebhookOutcome outcome);

struct WebhookRejection {
  ErrorCode code;
  std::string message;   // safe to send: never contains a secret or the payload
  WebhookOutcome outcome;
};

struct VerifiedEvent {
  Envelope envelope;
  std::string key;  // partition key
};

std::variant<VerifiedEvent, WebhookRejection> check_webhook(const SignatureVerifier& verifier,
                                                            const WebhookInput& input);

// The Kafka message for a verified event: the raw body byte for byte, keyed by customer, with
// the headers of DESIGN.md. `value` must stay alive until the publish completes (set owner).
OutgoingMessage event_message(std::string_view topic, const VerifiedEvent& event,
                              std::string_view body, std::int64_t received_ms,
                              std::string_view source, EventHeaders& storage);

}  // namespace stripe_sync::ingress
