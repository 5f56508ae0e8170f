#include "ingress/webhook.hpp"

#include <algorithm>
#include <cctype>

namespace stripe_sync::ingress {

namespace {
bool is_json_content_type(std::string_view ct) {
  // "application/json", optionally with parameters ("; charset=utf-8"), any case.
  constexpr std::string_view kJson = "application/json";
  if (ct.size() < kJson.size()) return false;
  for (std::size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(ct[i])) != kJson[i]) return false;
  }
  std::string_view rest = ct.substr(kJson.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}
}  // namespace

std::variant<VerifiedEvent, WebhookRejection> check_webhook(const SignatureVerifier& verifier,
                                                            const WebhookInput& in) {
  // Signature first: nothing about an unauthenticated body is worth parsing.
  SignatureStatus st = verifier.verify(in.signature_header, in.body, in.now_s);
  if (st != SignatureStatus::ok) {
    return WebhookRejection{ErrorCode::invalid_signature, std::string(to_string(st)),
                            "invalid_signature"};
  }
  if (!is_json_content_type(in.content_type)) {
    return WebhookRejection{ErrorCode::bad_request, "Content-Type must be application/json",
                            "bad_request"};
  }
  VerifiedEvent ev;
  if (auto r = read_envelope(in.body, std::max(in.body_capacity, in.body.size()), ev.envelope); !r) {
    return WebhookRejection{ErrorCode::invalid_event, r.detail, "invalid_event"};
  }
  ev.key = ev.envelope.partition_key();
  return ev;
}

OutgoingMessage event_message(std::string_view topic, const VerifiedEvent& event,
                              std::string_view body, std::int64_t received_ms,
                              std::string_view source, EventHeaders& storage) {
  return stripe_sync::event_message(topic, event.envelope, event.key, body, received_ms, source, storage);
}

}  // namespace stripe_sync::ingress
