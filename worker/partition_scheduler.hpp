#pragma once
// The worker's partitions between the consumer and the pool: one queue per assigned partition,
// at most one batch of a partition in flight (which keeps its order), partitions in parallel on
// the pool, back-pressure by pausing a partition whose queue is long, and a capped, jittered
// backoff when a batch cannot be made durable (the partition is paused meanwhile, nothing is
// committed). No librdkafka call is made here: the consumer's side is behind PartitionControl,
// so the tests drive all of it without a broker.
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/kafka/kafka_handles.hpp"
#include "worker/worker_metrics.hpp"

namespace stripe_sync::worker {

// A consumed message waiting for its outcome. `raw` owns librdkafka's message (null in tests).
struct QueuedMessage {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::size_t bytes = 0;  // its key and value: what it holds in memory while queued
  kafka::MessagePtr raw;
};

// What the scheduler asks of the consumer. Called with the scheduler's lock held, from the
// consumer's poll thread or a pool thread: implementations only call into librdkafka.
class PartitionControl {
 public:
  virtual ~PartitionControl() = default;
  virtual void pause(std::int32_t partition) = 0;
  virtual void resume(std::int32_t partition) = 0;
  // Everything before `next_offset` has a durable outcome: store and commit it.
  virtual void commit(std::int32_t partition, std::int64_t next_offset) = 0;
};

struct SchedulerOptions {
  std::size_t batch_size = 500;
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{30000};
  std::size_t pause_at_batches = 32;    // a queue this many batches long pauses its partition
  std::size_t resume_below_batches = 4;  // ... and it resumes below this many
  // The bytes all queues may hold together (WORKER_QUEUE_MAX_BYTES): a partition whose queue
  // holds its share (this over the partitions assigned) pauses too, and resumes below a quarter
  // of it. A count alone let 24 partitions of 16 KB events queue 768 MB.
  std::size_t max_queued_bytes = 64u << 20;
};

class PartitionScheduler {
 public:
  // True when every message of the batch has a durable outcome; false to keep the batch and
  // retry it after a backoff, with `retry_code` saying why (a metric label).
  using ApplyBatch = std::function<bool(const std::vector<const QueuedMessage*>& batch, std::string& retry_code)>;

  PartitionScheduler(boost::asio::thread_pool& pool, PartitionControl& control, ApplyBatch apply,
                     SchedulerOptions options, WorkerMetrics& metrics, WorkerCounters& counters);

  // From the consumer's rebalance callback.
  void assign(std::span<const std::int32_t> partitions);
  // Lets a batch in flight finish (up to `deadline`), abandons what is queued (it was not
  // committed, and the next owner fetches it again) and forgets the partitions.
  void revoke(std::span<const std::int32_t> partitions, std::chrono::steady_clock::time_point deadline);

  // From the poll thread: queues a message of an assigned partition (others are dropped).
  void enqueue(QueuedMessage message);

  std::size_t assigned() const;
  bool any_backing_off() const;  // some partition waits to retry its batch
  bool queues_empty() const;
  // Per assigned partition, the oldest offset without a durable outcome: the first queued one,
  // else the next after the last commit (-1 when neither is known yet).
  std::vector<std::pair<std::int32_t, std::int64_t>> positions() const;

 private:
  struct Partition;
  void schedule(Partition& p);  // caller holds mutex_
  std::size_t byte_share() const;  // caller holds mutex_
  void drain(std::int32_t id);

  boost::asio::thread_pool& pool_;
  PartitionControl& control_;
  ApplyBatch apply_;
  SchedulerOptions options_;
  WorkerMetrics& metrics_;
  WorkerCounters& counters_;
  mutable std::mutex mutex_;  // guards partitions_ and every Partition
  std::condition_variable idle_cv_;
  std::map<std::int32_t, std::shared_ptr<Partition>> partitions_;
};

}  // namespace stripe_sync::worker
