#include "common/kafka/kafka_consumer.hpp"

#include <vector>

#include "common/core/config.hpp"
#include "common/core/log.hpp"

namespace stripe_sync::kafka {

namespace {
std::vector<std::int32_t> ids_of(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<std::int32_t> ids;
  for (int i = 0; i < parts->cnt; ++i) ids.push_back(parts->elems[i].partition);
  return ids;
}
}  // namespace

KafkaConsumer::KafkaConsumer(ConsumerConfig config, RebalanceHandler& rebalance)
    : config_(std::move(config)), rebalance_(rebalance) {
  ConfPtr conf(rd_kafka_conf_new());
  set_conf(conf.get(), "bootstrap.servers", config_.brokers);
  set_conf(conf.get(), "group.id", config_.group);
  set_conf(conf.get(), "client.id", config_.client_id);
  // Offsets move only when the caller says an outcome is durable.
  set_conf(conf.get(), "enable.auto.commit", "false");
  set_conf(conf.get(), "enable.auto.offset.store", "false");
  set_conf(conf.get(), "auto.offset.reset", "earliest");
  set_conf(conf.get(), "session.timeout.ms", std::to_string(config_.session_timeout.count()));
  set_conf(conf.get(), "heartbeat.interval.ms", "1000");
  set_conf(conf.get(), "reconnect.backoff.max.ms", "1000");
  // What librdkafka prefetches beyond the caller's own queues (its default is 64 MiB).
  set_conf(conf.get(), "queued.max.messages.kbytes", "16384");
  // Real Kafka answers a fetch as soon as there is data (fetch.min.bytes=1), so this bounds
  // only idle polling; librdkafka's mock broker holds an empty fetch for all of it.
  set_conf(conf.get(), "fetch.wait.max.ms", std::to_string(config_.fetch_wait.count()));
  for (const auto& [name, value] : config_.extra) set_conf(conf.get(), name.c_str(), value);
  route_logs(conf.get());
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                                rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<KafkaConsumer*>(opaque)->on_rebalance(rk, err, parts);
  });
  char err[512];
  handle_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!handle_) throw ConfigError(std::string("cannot create Kafka consumer: ") + err);
  conf.release();  // owned by the handle now
  rd_kafka_poll_set_consumer(handle_.get());
}

KafkaConsumer::~KafkaConsumer() { close(); }

bool KafkaConsumer::subscribe() {
  PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), config_.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(handle_.get(), topics.get())) {
    log::error("cannot subscribe", {{"topic", config_.topic}, {"error", rd_kafka_err2str(e)}});
    return false;
  }
  return true;
}

MessagePtr KafkaConsumer::poll(std::chrono::milliseconds timeout) {
  MessagePtr m(rd_kafka_consumer_poll(handle_.get(), static_cast<int>(timeout.count())));
  if (m && m->err) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      log::warn("consumer error", {{"error", rd_kafka_message_errstr(m.get())}});
    }
    return nullptr;
  }
  return m;
}

PartitionListPtr KafkaConsumer::list(std::int32_t partition) const {
  PartitionListPtr l(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(l.get(), config_.topic.c_str(), partition);
  return l;
}

void KafkaConsumer::pause(std::int32_t partition) { rd_kafka_pause_partitions(handle_.get(), list(partition).get()); }

void KafkaConsumer::resume(std::int32_t partition) { rd_kafka_resume_partitions(handle_.get(), list(partition).get()); }

void KafkaConsumer::commit(std::int32_t partition, std::int64_t next_offset) {
  auto l = list(partition);
  l->elems[0].offset = next_offset;
  rd_kafka_offsets_store(handle_.get(), l.get());
  rd_kafka_commit(handle_.get(), l.get(), 1);
}

std::optional<std::int64_t> KafkaConsumer::high_watermark(std::int32_t partition) const {
  std::int64_t low = 0, high = -1;
  if (rd_kafka_get_watermark_offsets(handle_.get(), config_.topic.c_str(), partition, &low, &high) || high < 0) {
    return std::nullopt;
  }
  return high;
}

std::optional<std::int64_t> KafkaConsumer::position(std::int32_t partition) const {
  auto l = list(partition);
  if (rd_kafka_position(handle_.get(), l.get()) != RD_KAFKA_RESP_ERR_NO_ERROR || l->elems[0].offset < 0) {
    return std::nullopt;
  }
  return l->elems[0].offset;
}

void KafkaConsumer::close() {
  if (closed_) return;
  closed_ = true;
  rd_kafka_consumer_close(handle_.get());  // revokes: on_revoked, then the stored offsets committed
}

// Runs on the polling thread (inside rd_kafka_consumer_poll or rd_kafka_consumer_close).
void KafkaConsumer::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const std::vector<std::int32_t> ids = ids_of(parts);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rebalance_.on_assigned(ids);
    log::info("partitions assigned", {{"count", parts->cnt}});
    rd_kafka_assign(rk, parts);
    // A partition paused before a rebalance stays paused inside librdkafka when it comes back,
    // while the caller's new state says it is not: it would never be fetched again. Every
    // assigned partition starts resumed.
    rd_kafka_resume_partitions(rk, parts);
    return;
  }
  rebalance_.on_revoked(ids);
  rd_kafka_commit(rk, nullptr, 0);  // the stored offsets of durable outcomes, synchronously
  log::info("partitions revoked", {{"count", parts->cnt}});
  rd_kafka_assign(rk, nullptr);
}

}  // namespace stripe_sync::kafka
