#include "common/billing/event_message.hpp"

namespace stripe_sync {

OutgoingMessage event_message(std::string_view topic, const Envelope& envelope, std::string_view key,
                              std::string_view body, std::int64_t received_ms, std::string_view source,
                              EventHeaders& storage) {
  storage.created = std::to_string(envelope.created);
  storage.received_ms = std::to_string(received_ms);
  OutgoingMessage m;
  m.topic = topic;
  m.key = key;
  m.value = body;
  // A thin notification is always source=thin, whoever received it, and says what it names.
  m.headers = {{"stripe-event-id", envelope.id},
               {"stripe-event-type", envelope.type},
               {"stripe-event-created", storage.created},
               {"ingress-received-ms", storage.received_ms},
               {"source", envelope.thin ? std::string_view("thin") : source}};
  if (envelope.thin) {
    m.headers.push_back({"stripe-thin-type", envelope.type});
    if (!envelope.related_id.empty()) m.headers.push_back({"stripe-related-object", envelope.related_id});
  }
  return m;
}

}  // namespace stripe_sync
