#include "common/kafka/kafka_producer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstring>
#include <mutex>
#include <system_error>

#include "common/core/config.hpp"
#include "common/kafka/kafka_handles.hpp"
#include "common/core/log.hpp"

namespace stripe_sync {

namespace kafka {

void set_conf(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    throw ConfigError(std::string("Kafka property ") + name + ": " + err);
  }
}

void route_logs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int level, const char* fac, const char* buf) {
    // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug
    log::Level l = level <= 3 ? log::Level::error
                   : level == 4 ? log::Level::warn
                   : level <= 6 ? log::Level::info
                                : log::Level::debug;
    if (log::enabled(l)) log::write(l, buf, {{"component", "librdkafka"}, {"facility", fac}});
  });
}

}  // namespace kafka

namespace {

// Owned by us until rd_kafka_producev() succeeds, then by librdkafka until the delivery report,
// where the report callback takes it back.
struct Pending {
  std::shared_ptr<const void> owner;
  boost::asio::any_io_executor executor;
  PublishHandler done;
};

PublishStatus classify(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return PublishStatus::ok;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: return PublishStatus::timed_out;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE: return PublishStatus::too_large;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED: return PublishStatus::fatal;
    default: return PublishStatus::unavailable;
  }
}

void complete(Pending* raw, PublishResult result) {
  std::unique_ptr<Pending> p(raw);
  auto ex = p->executor;
  boost::asio::post(ex, [p = std::move(p), r = std::move(result)]() mutable {
    p->done(std::move(r));
  });
}

// Serves the producer's report queue on an io_context. librdkafka writes to `fd` (an eventfd)
// when its main queue gets work; the handler reads it and polls on an I/O thread, where the
// report callback runs. Owned by its pending handlers as well as the producer, so it outlives
// whichever goes last; `rk` is only touched under `mutex` while not `stopped`, and the producer
// stops it before destroying the handle.
class ReportPump : public std::enable_shared_from_this<ReportPump> {
 public:
  ReportPump(boost::asio::io_context& ioc, rd_kafka_t* rk, int fd)
      : strand_(boost::asio::make_strand(ioc)), descriptor_(strand_, fd), fallback_(strand_), rk_(rk) {}

  void start() {
    boost::asio::post(strand_, [self = shared_from_this()] {
      if (self->stopped()) return;
      self->arm();
      self->arm_fallback();
    });
  }

  // From the producer's destructor, any thread. After it returns, rk is never touched again;
  // the waits still pending end when the context next runs, so they hold no work.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    boost::asio::post(strand_, [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->descriptor_.cancel(ignored);
      self->fallback_.cancel();
    });
  }

 private:
  void arm() {
    descriptor_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                           [self = shared_from_this()](boost::system::error_code ec) {
                             if (ec) return;
                             std::uint64_t count;
                             if (::read(self->descriptor_.native_handle(), &count, sizeof count) < 0) {
                               // EAGAIN: a spurious wake-up; nothing else can fail on an eventfd.
                             }
                             if (!self->poll()) return;
                             self->arm();
                           });
  }

  // A wake-up lost between librdkafka's write and our read would strand reports until the next
  // one; this bounds that to 200 ms (it also serves error callbacks on an idle producer).
  void arm_fallback() {
    fallback_.expires_after(std::chrono::milliseconds(200));
    fallback_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || !self->poll()) return;
      self->arm_fallback();
    });
  }

  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

  bool poll() {
    std::lock_guard lock(mutex_);
    if (stopped_) return false;
    while (rd_kafka_poll(rk_, 0) > 0) {
    }
    return true;
  }

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::posix::stream_descriptor descriptor_;  // owns the eventfd
  boost::asio::steady_timer fallback_;
  rd_kafka_t* rk_;
  std::mutex mutex_;
  bool stopped_ = false;
};

}  // namespace

struct KafkaProducer::Impl {
  kafka::HandlePtr handle;
  std::vector<std::pair<std::string, kafka::TopicPtr>> topics;
  std::atomic<bool> running{true};
  std::thread poller;                 // without an io_context
  kafka::QueuePtr main_queue;         // with one: the queue whose io event feeds `pump`
  std::shared_ptr<ReportPump> pump;

  rd_kafka_topic_t* topic(std::string_view name) const {
    for (const auto& [n, t] : topics)
      if (n == name) return t.get();
    return nullptr;
  }
};

KafkaProducer::KafkaProducer(const ProducerConfig& config) : impl_(std::make_unique<Impl>()) {
  create(config);
  impl_->poller = std::thread([impl = impl_.get()] {
    while (impl->running.load(std::memory_order_acquire)) rd_kafka_poll(impl->handle.get(), 100);
  });
}

KafkaProducer::KafkaProducer(const ProducerConfig& config, boost::asio::io_context& reports_on)
    : impl_(std::make_unique<Impl>()) {
  create(config);
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd for Kafka delivery reports");
  impl_->pump = std::make_shared<ReportPump>(reports_on, impl_->handle.get(), fd);  // owns fd now
  impl_->main_queue.reset(rd_kafka_queue_get_main(impl_->handle.get()));
  static const std::uint64_t kOne = 1;  // an eventfd takes 8-byte writes
  rd_kafka_queue_io_event_enable(impl_->main_queue.get(), fd, &kOne, sizeof kOne);
  impl_->pump->start();
}

void KafkaProducer::create(const ProducerConfig& config) {
  kafka::ConfPtr conf(rd_kafka_conf_new());
  // Correctness settings: the broker has it on every in-sync replica before we say 200, and
  // retries never duplicate or reorder within a partition.
  kafka::set_conf(conf.get(), "bootstrap.servers", config.brokers);
  kafka::set_conf(conf.get(), "enable.idempotence", "true");
  kafka::set_conf(conf.get(), "acks", "all");
  kafka::set_conf(conf.get(), "message.timeout.ms", std::to_string(config.message_timeout.count()));
  kafka::set_conf(conf.get(), "linger.ms", std::to_string(config.linger.count()));
  kafka::set_conf(conf.get(), "message.max.bytes", std::to_string(config.max_message_bytes));
  kafka::set_conf(conf.get(), "client.id", config.client_id);
  kafka::set_conf(conf.get(), "partitioner", "murmur2_random");  // the Java client's, by key
  for (const auto& [k, v] : config.extra) kafka::set_conf(conf.get(), k.c_str(), v);
  kafka::route_logs(conf.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    // Runs on our poll thread (inside rd_kafka_poll), never on an I/O thread.
    PublishResult r;
    r.status = classify(m->err);
    if (m->err) r.error = rd_kafka_err2str(m->err);
    r.partition = m->partition;
    r.offset = m->offset;
    complete(static_cast<Pending*>(m->_private), std::move(r));
  });
  rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t*, int err, const char* reason, void*) {
    log::warn("kafka producer error", {{"component", "librdkafka"},
                                       {"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
                                       {"reason", reason}});
  });

  char err[512];
  impl_->handle.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!impl_->handle) throw ConfigError(std::string("cannot create Kafka producer: ") + err);
  conf.release();  // rd_kafka_new took it
  for (const auto& t : config.topics) {
    kafka::TopicPtr topic(rd_kafka_topic_new(impl_->handle.get(), t.c_str(), nullptr));
    if (!topic) throw ConfigError("cannot create Kafka topic handle for " + t);
    impl_->topics.emplace_back(t, std::move(topic));
  }
}

KafkaProducer::~KafkaProducer() {
  flush(std::chrono::milliseconds(1000));  // rd_kafka_flush serves reports itself
  if (impl_->pump) {
    impl_->pump->stop();  // waits for a poll in progress on an I/O thread
    rd_kafka_queue_io_event_enable(impl_->main_queue.get(), -1, nullptr, 0);
    impl_->main_queue.reset();
  } else {
    impl_->running.store(false, std::memory_order_release);
    impl_->poller.join();
  }
  rd_kafka_poll(impl_->handle.get(), 0);  // last delivery reports
  impl_->topics.clear();
}

void KafkaProducer::publish(OutgoingMessage message, boost::asio::any_io_executor executor,
                            PublishHandler done) {
  auto pending = std::make_unique<Pending>(
      Pending{std::move(message.owner), std::move(executor), std::move(done)});
  rd_kafka_topic_t* topic = impl_->topic(message.topic);
  if (topic == nullptr) {
    complete(pending.release(), {PublishStatus::fatal, "topic not configured for this producer"});
    return;
  }
  kafka::HeadersPtr headers(rd_kafka_headers_new(message.headers.size()));
  for (const auto& h : message.headers) {
    rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value.data(), static_cast<ssize_t>(h.value.size()));
  }
  // No RD_KAFKA_MSG_F_COPY: librdkafka reads the value in place; Pending::owner keeps it alive.
  rd_kafka_resp_err_t err = rd_kafka_producev(
      impl_->handle.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
      RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
      RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
  if (err) {
    // Not enqueued: the headers and Pending are still ours.
    complete(pending.release(), {classify(err), rd_kafka_err2str(err)});
    return;
  }
  headers.release();   // owned by the message now
  pending.release();   // returned to us by the delivery report
}

int KafkaProducer::flush(std::chrono::milliseconds deadline) {
  rd_kafka_flush(impl_->handle.get(), static_cast<int>(deadline.count()));
  int left = rd_kafka_outq_len(impl_->handle.get());
  if (left > 0) {
    log::warn("kafka producer flush deadline passed; purging", {{"messages", left}});
    rd_kafka_purge(impl_->handle.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  }
  return left;
}

bool KafkaProducer::broker_reachable(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* topic = impl_->topics.empty() ? nullptr : impl_->topics.front().second.get();
  rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->handle.get(), 0, topic, &md,
                                              static_cast<int>(timeout.count()));
  if (md) rd_kafka_metadata_destroy(md);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

std::optional<std::vector<KafkaProducer::PartitionOffsets>> KafkaProducer::watermarks(
    const std::string& topic, std::chrono::milliseconds timeout) {
  kafka::TopicPtr t(rd_kafka_topic_new(impl_->handle.get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* md = nullptr;
  if (!t || rd_kafka_metadata(impl_->handle.get(), 0, t.get(), &md, static_cast<int>(timeout.count())) !=
                RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  std::optional<std::vector<PartitionOffsets>> out(std::in_place);
  for (int i = 0; i < md->topic_cnt && out; ++i) {
    if (md->topics[i].err) {
      if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) out.reset();
      break;
    }
    for (int p = 0; p < md->topics[i].partition_cnt; ++p) {
      PartitionOffsets o;
      o.partition = md->topics[i].partitions[p].id;
      if (rd_kafka_query_watermark_offsets(impl_->handle.get(), topic.c_str(), o.partition, &o.low, &o.high,
                                           static_cast<int>(timeout.count())) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.reset();
        break;
      }
      out->push_back(o);
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

std::optional<std::int64_t> KafkaProducer::messages_in(const std::string& topic, std::chrono::milliseconds timeout) {
  auto spans = watermarks(topic, timeout);
  if (!spans) return std::nullopt;
  std::int64_t total = 0;
  for (const PartitionOffsets& o : *spans) total += o.high - o.low;
  return total;
}

std::size_t KafkaProducer::in_flight() const {
  return static_cast<std::size_t>(rd_kafka_outq_len(impl_->handle.get()));
}

}  // namespace stripe_sync
