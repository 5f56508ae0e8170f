#include "worker/partition_scheduler.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <deque>
#include <random>

namespace stripe_sync::worker {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// One assigned partition. The queue holds fetched messages not yet durable; one drain at a
// time runs per partition (scheduled), which keeps the partition's order.
struct PartitionScheduler::Partition {
  std::int32_t id = -1;
  std::deque<QueuedMessage> queue;
  std::size_t bytes = 0;  // of the queued messages
  bool scheduled = false;  // a drain is queued, running, or waiting on its backoff timer
  bool busy = false;       // a batch is being applied right now
  bool paused = false;
  bool revoked = false;
  std::int64_t committed = -1;  // next offset after the last durable event, once known
  std::chrono::milliseconds backoff{0};
  std::unique_ptr<asio::steady_timer> timer;
};

namespace {
std::mt19937& rng() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return gen;
}
}  // namespace

PartitionScheduler::PartitionScheduler(asio::thread_pool& pool, PartitionControl& control, ApplyBatch apply,
                                       SchedulerOptions options, WorkerMetrics& metrics, WorkerCounters& counters)
    : pool_(pool), control_(control), apply_(std::move(apply)), options_(options), metrics_(metrics),
      counters_(counters) {}

void PartitionScheduler::assign(std::span<const std::int32_t> partitions) {
  std::lock_guard lock(mutex_);
  for (std::int32_t id : partitions) {
    auto p = std::make_shared<Partition>();
    p->id = id;
    partitions_[id] = std::move(p);
  }
  metrics_.assigned.set(static_cast<std::int64_t>(partitions_.size()));
}

void PartitionScheduler::revoke(std::span<const std::int32_t> partitions,
                                std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  for (std::int32_t id : partitions) {
    auto it = partitions_.find(id);
    if (it == partitions_.end()) continue;
    it->second->revoked = true;
    if (it->second->timer) it->second->timer->cancel();
  }
  idle_cv_.wait_until(lock, deadline, [&] {
    for (std::int32_t id : partitions) {
      auto it = partitions_.find(id);
      if (it != partitions_.end() && it->second->busy) return false;
    }
    return true;
  });
  for (std::int32_t id : partitions) {
    auto it = partitions_.find(id);
    if (it == partitions_.end()) continue;
    if (it->second->backoff.count() > 0) metrics_.retrying.add(-1);
    partitions_.erase(it);
  }
  metrics_.assigned.set(static_cast<std::int64_t>(partitions_.size()));
}

void PartitionScheduler::enqueue(QueuedMessage m) {
  std::lock_guard lock(mutex_);
  auto it = partitions_.find(m.partition);
  if (it == partitions_.end() || it->second->revoked) return;  // not ours any more
  Partition& p = *it->second;
  p.bytes += m.bytes;
  p.queue.push_back(std::move(m));
  // Back-pressure: stop fetching a partition whose queue is long, in messages or in bytes; the
  // drain resumes it once the queue is short again. The wide gap matters: a pause makes
  // librdkafka drop what it prefetched for the partition and fetch it again on resume.
  const bool long_queue = p.queue.size() >= options_.pause_at_batches * options_.batch_size || p.bytes >= byte_share();
  if (long_queue && !p.paused) {
    control_.pause(p.id);
    p.paused = true;
  }
  schedule(p);
}

std::size_t PartitionScheduler::byte_share() const {
  return options_.max_queued_bytes / std::max<std::size_t>(1, partitions_.size());
}

void PartitionScheduler::schedule(Partition& p) {
  if (p.scheduled || p.queue.empty()) return;
  p.scheduled = true;
  asio::post(pool_, [this, id = p.id] { drain(id); });
}

void PartitionScheduler::drain(std::int32_t id) {
  std::vector<const QueuedMessage*> batch;
  std::shared_ptr<Partition> state;
  {
    std::lock_guard lock(mutex_);
    auto it = partitions_.find(id);
    if (it == partitions_.end()) return;
    state = it->second;
    if (state->revoked || state->queue.empty()) {
      state->scheduled = false;
      idle_cv_.notify_all();
      return;
    }
    state->busy = true;
    for (std::size_t i = 0; i < state->queue.size() && i < options_.batch_size; ++i) {
      batch.push_back(&state->queue[i]);  // stays owned by the queue until durable
    }
  }

  std::string retry_code;
  bool durable = apply_(batch, retry_code);

  std::lock_guard lock(mutex_);
  state->busy = false;
  idle_cv_.notify_all();
  if (state->revoked) {
    state->scheduled = false;
    return;
  }
  if (!durable) {
    // Redis unreachable (or the DLQ): keep the batch, stop fetching, retry after a backoff.
    counters_.redis_retries++;
    metrics_.retry(retry_code).inc();
    if (state->backoff.count() == 0) metrics_.retrying.add(1);
    if (!state->paused) {
      control_.pause(id);
      state->paused = true;
    }
    state->backoff = std::min(options_.backoff_max, std::max(options_.backoff_min, state->backoff * 2));
    std::uniform_int_distribution<long> jitter(0, state->backoff.count() / 2);
    auto wait = state->backoff / 2 + std::chrono::milliseconds(jitter(rng()));
    state->timer = std::make_unique<asio::steady_timer>(pool_, wait);
    state->timer->async_wait([this, id](boost::system::error_code ec) {
      if (!ec) drain(id);
      else {
        std::lock_guard l(mutex_);
        if (auto it = partitions_.find(id); it != partitions_.end()) it->second->scheduled = false;
        idle_cv_.notify_all();
      }
    });
    return;
  }
  if (state->backoff.count() > 0) metrics_.retrying.add(-1);
  state->backoff = 0ms;
  state->committed = batch.back()->offset + 1;
  // Durable: commit the next offset, then forget the messages.
  control_.commit(id, state->committed);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    state->bytes -= state->queue.front().bytes;
    state->queue.pop_front();
  }
  if (state->paused && state->queue.size() < options_.resume_below_batches * options_.batch_size &&
      state->bytes < byte_share() / 4) {
    control_.resume(id);
    state->paused = false;
  }
  state->scheduled = false;
  schedule(*state);
  idle_cv_.notify_all();
}

std::size_t PartitionScheduler::assigned() const {
  std::lock_guard lock(mutex_);
  return partitions_.size();
}

bool PartitionScheduler::any_backing_off() const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, p] : partitions_)
    if (p->backoff.count() > 0) return true;
  return false;
}

bool PartitionScheduler::queues_empty() const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, p] : partitions_)
    if (!p->queue.empty()) return false;
  return true;
}

std::vector<std::pair<std::int32_t, std::int64_t>> PartitionScheduler::positions() const {
  std::vector<std::pair<std::int32_t, std::int64_t>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, p] : partitions_) out.emplace_back(id, !p->queue.empty() ? p->queue.front().offset : p->committed);
  return out;
}

}  // namespace stripe_sync::worker
