#include "common/kafka/topic_reader.hpp"

#include "common/kafka/message_headers.hpp"

#include <stdexcept>

#include "common/kafka/kafka_handles.hpp"

namespace stripe_sync {

std::string StoredMessage::header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->first == name) return it->second;
  return {};
}

namespace {
kafka::HandlePtr make_consumer(const std::string& bootstrap) {
  kafka::ConfPtr conf(rd_kafka_conf_new());
  kafka::set_conf(conf.get(), "bootstrap.servers", bootstrap);
  kafka::set_conf(conf.get(), "group.id", "stripe-sync-topic-reader");
  kafka::set_conf(conf.get(), "enable.auto.commit", "false");
  kafka::set_conf(conf.get(), "enable.partition.eof", "true");
  char err[512];
  kafka::HandlePtr h(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!h) throw std::runtime_error(err);
  conf.release();
  return h;
}

std::vector<std::pair<std::int32_t, std::int64_t>> high_watermarks(rd_kafka_t* rk,
                                                                   const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  kafka::TopicPtr t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  if (rd_kafka_metadata(rk, 0, t.get(), &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("no metadata for " + topic);
  }
  std::vector<std::pair<std::int32_t, std::int64_t>> out;
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    std::int32_t p = md->topics[0].partitions[i].id;
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000)) {
      rd_kafka_metadata_destroy(md);
      throw std::runtime_error("no watermarks for " + topic);
    }
    out.emplace_back(p, hi);
  }
  rd_kafka_metadata_destroy(md);
  return out;
}
}  // namespace

std::int64_t topic_message_count(const std::string& bootstrap, const std::string& topic) {
  auto h = make_consumer(bootstrap);
  std::int64_t n = 0;
  for (auto [p, hi] : high_watermarks(h.get(), topic)) n += hi;
  return n;
}

std::vector<StoredMessage> read_topic(const std::string& bootstrap, const std::string& topic,
                                      std::chrono::milliseconds deadline) {
  auto h = make_consumer(bootstrap);
  auto marks = high_watermarks(h.get(), topic);
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(marks.size())));
  std::int64_t expected = 0;
  for (auto [p, hi] : marks) {
    if (hi == 0) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    expected += hi;
  }
  std::vector<StoredMessage> out;
  if (expected == 0) return out;
  rd_kafka_assign(h.get(), list.get());
  auto until = std::chrono::steady_clock::now() + deadline;
  while (static_cast<std::int64_t>(out.size()) < expected && std::chrono::steady_clock::now() < until) {
    kafka::MessagePtr m(rd_kafka_consumer_poll(h.get(), 100));
    if (!m || m->err) continue;
    StoredMessage s;
    s.topic = topic;
    s.partition = m->partition;
    s.offset = m->offset;
    if (m->key) s.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) s.value.assign(static_cast<const char*>(m->payload), m->len);
    for (auto [name, value] : kafka::headers_of(m.get())) s.headers.emplace_back(name, value);
    out.push_back(std::move(s));
  }
  rd_kafka_consumer_close(h.get());
  return out;
}

}  // namespace stripe_sync
