#include "worker/dead_letter.hpp"

#include <boost/asio/system_executor.hpp>
#include <future>

#include "common/core/log.hpp"
#include "common/core/time.hpp"
#include "common/kafka/message_headers.hpp"

namespace stripe_sync::worker {

Status DeadLetterWriter::write(const rd_kafka_message_t* m, const std::string& reason, const std::string& error) {
  std::string partition = std::to_string(m->partition), offset = std::to_string(m->offset),
              at = std::to_string(unix_ms_now());
  OutgoingMessage out;
  out.topic = topic_;
  out.key = std::string_view(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  out.value = std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  for (auto [name, value] : kafka::headers_of(m)) out.headers.push_back({name, value});
  out.headers.push_back({"dlq-reason", reason});
  out.headers.push_back({"dlq-error", error});
  out.headers.push_back({"dlq-source-partition", partition});
  out.headers.push_back({"dlq-source-offset", offset});
  out.headers.push_back({"dlq-at-ms", at});
  std::promise<PublishResult> done;
  auto result = done.get_future();
  // The value is borrowed from the consumed message, which outlives this wait.
  producer_.publish(std::move(out), boost::asio::system_executor(),
                    [&done](PublishResult r) { done.set_value(std::move(r)); });
  PublishResult r = result.get();
  std::string event_id = kafka::header_value(m, "stripe-event-id");
  if (r.status != PublishStatus::ok) {
    log::error("dead-letter produce failed; will retry", {{"event_id", event_id}, {"error", r.error}});
    return Error{ErrorClass::transient, "dlq", "the dead-letter topic did not take the event: " + r.error};
  }
  log::warn("event dead-lettered", {{"event_id", event_id}, {"reason", reason}, {"error", error},
                                    {"partition", m->partition}, {"offset", m->offset}});
  return Ok{};
}

}  // namespace stripe_sync::worker
