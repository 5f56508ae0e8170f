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

std::string_view to_string(WebhookOutcome outcome) {
  switch (outcome) {
    case WebhookOutcome::accepted: return "accepted";
    case WebhookOutcome::invalid_signature: return "invalid_signature";
    case WebhookOutcome::invalid_event: return "invalid_event";
    case WebhookOutcome::bad_request: return "bad_request";
    case WebhookOutcome::forbidden: return "forbidden";
    case WebhookOutcome::payload_too_large: return "payload_too_large";
    case WebhookOutcome::upstream_unavailable: return "upstream_unavailable";
    case WebhookOutcome::count: break;
  }
  return "unknown";
}

unsigned http_status(WebhookOutcome outcome) {
  switch (outcome) {
    case WebhookOutcome::accepted: return 200;
    case WebhookOutcome::invalid_signature: return http_status(ErrorCode::invalid_signature);
    case WebhookOutcome::invalid_event: return http_status(ErrorCode::invalid_event);
    case WebhookOutcome::bad_request: return http_status(ErrorCode::bad_request);
    case WebhookOutcome::forbidden: return http_status(ErrorCode::forbidden);
    case WebhookOutcome::payload_too_large: return http_status(ErrorCode::payload_too_large);
    case WebhookOutcome::upstream_unavailable: return http_status(ErrorCode::upstream_unavailable);
    case WebhookOutcome::count: break;
  }
  return 500;
}

std::variant<VerifiedEvent, WebhookRejection> check_webhook(const SignatureVerifier& verifier,
                                                            const WebhookInput& in) {
  // Signature first: nothing about an unauthenticated body is worth parsing.
  SignatureStatus st = verifier.verify(in.signature_header, in.body, in.now_s);
  if (st != SignatureStatus::ok) {
    return WebhookRejection{ErrorCode::invalid_signature, std::string(to_string(st)),
                            WebhookOutcome::invalid_signature};
  }
  if (!is_json_content_type(in.content_type)) {
    return WebhookRejection{ErrorCode::bad_request, "Content-Type must be application/json",
                            WebhookOutcome::bad_request};
  }
  VerifiedEvent ev;
  if (auto r = read_envelope(in.body, std::max(in.body_capacity, in.body.size()), ev.envelope); !r) {
    return WebhookRejection{ErrorCode::invalid_event, r.detail, WebhookOutcome::invalid_event};
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
